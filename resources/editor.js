// Shared by the edit dialogs, which load it with
// <script src="resources/@nr-replicate/node-red-replicate/editor.js"></script>.
(function () {
  // Numbers as the runtime reads them (nodes/core/settings/node-settings.ts): blank takes its
  // default, anything else must be a number within the same bounds, whole where it must be.
  window.replicateNumberSetting = function (min, max, whole) {
    return function (value) {
      if (value === '' || value === undefined || value === null) return true;
      var number = Number(value);
      return isFinite(number) && number >= min && number <= max && (!whole || number % 1 === 0);
    };
  };

  // A node added from the palette takes the Replicate account when there is exactly one it can
  // use (global, or scoped to its flow): with one account, there is nothing to choose.
  window.replicateSoleAccount = function () {
    if (this.replicate) return;
    var node = this;
    var accounts = [];
    RED.nodes.eachConfig(function (config) {
      if (config.type === 'replicate-config' && (!config.z || config.z === node.z)) accounts.push(config.id);
    });
    if (accounts.length === 1) this.replicate = accounts[0];
  };
})();
