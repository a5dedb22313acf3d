// Shared by the edit dialogs, which load it with
// <script src="resources/@nr-replicate/node-red-replicate/editor.js"></script>.
(function () {
  // The styles the create and training dialogs share, editor.css beside this script (wherever the editor serves it
  // from): added to the page once, however many dialogs load this script.
  var script = typeof document !== 'undefined' ? document.currentScript : null;
  if (script && script.src && !document.getElementById('replicate-editor-css')) {
    $('<link rel="stylesheet" id="replicate-editor-css">')
      .attr('href', script.src.replace(/editor\.js(\?.*)?$/, 'editor.css'))
      .appendTo('head');
  }

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
  /** Where a text setting can come from: a fixed string, or a msg, flow, global or env property read per message. */
  var TEXT_SOURCES = ['str', 'msg', 'flow', 'global', 'env'];

  /**
   * The TypedInput of the setting `name`, its type kept in `<name>Type` as the runtime reads it. `types` (a text's
   * sources when left out): the first is a new node's.
   */
  window.replicateTypedInput = function (name, types) {
    types = types || TEXT_SOURCES;
    $('#node-input-' + name).typedInput({ default: types[0], types: types, typeField: '#node-input-' + name + 'Type' });
  };

  /** The rows `rows` (a selector) show only while the checkbox `checkbox` is ticked. */
  window.replicateShowWhenChecked = function (checkbox, rows) {
    $(checkbox)
      .on('change', function () {
        $(rows).toggle($(this).is(':checked'));
      })
      .trigger('change');
  };

  /**
   * The dialog's requests to the editor endpoints, through the selected account: ask(path, body, done), done with the
   * answer or {ok: false, message}. The token stays on the server unless it was just typed into a config node not yet deployed.
   */
  window.replicateAsk = function (t) {
    function configRef() {
      var id = $('#node-input-replicate').val();
      var config = id && id !== '_ADD_' ? RED.nodes.node(id) : null;
      if (!config) return null;
      var token = config.credentials && config.credentials.token;
      return { id: config.id, baseUrl: config.baseUrl, token: token || undefined };
    }
    return function ask(path, body, done) {
      var config = configRef();
      if (!config) return done({ ok: false, message: t('picker.noConfig') });
      body.config = config;
      $.ajax({ url: 'replicate-config/' + path, type: 'POST', contentType: 'application/json', data: JSON.stringify(body) })
        .done(done)
        .fail(function (xhr) {
          // 401: Node-RED's admin auth refused; only the deployed config node as it is needs no more than read access
          done({
            ok: false,
            message: t(xhr.status === 401 || xhr.status === 403 ? 'picker.notAllowed' : 'picker.failed', { status: xhr.status }),
          });
        });
    };
  };

  /** The select `select` of the prediction completed nodes a webhook can go to, `none` first, `chosen` selected. */
  window.replicateCompletedNodes = function (select, none, chosen) {
    select.append($('<option>').val('').text(none));
    RED.nodes.eachNode(function (n) {
      if (n.type === 'replicate-prediction-completed') {
        select.append(
          $('<option>')
            .val(n.id)
            .text((n.name || 'prediction completed') + ' (' + (n.url || '') + ')'),
        );
      }
    });
    select.val(chosen || '');
  };

  // Runs as "1.2M runs": enough to compare popularity at a glance.
  function shortCount(count) {
    var units = [
      [1e9, 'B'],
      [1e6, 'M'],
      [1e3, 'k'],
    ];
    for (var i = 0; i < units.length; i++) {
      var value = count / units[i][0];
      if (value >= 1) return (value < 10 ? value.toFixed(1).replace(/\.0$/, '') : Math.round(value)) + units[i][1];
    }
    return String(count);
  }

  /**
   * The create dialog's model picker, built inside `options.root`: searches Replicate's models
   * (or lists the account's deployments) through the dialog's account, a page at a time with the
   * next on scroll or a button, and hands the chosen model or deployment back. The chosen model's
   * pages on replicate.com are links: nothing is fetched from there.
   * options: root, open (the button that shows it), account (the account select), t(key, vars),
   * ask(path, body, done) (the dialog's request to the editor endpoints), onModel(ref), onDeployment(ref);
   * trainable: only models whose latest version takes training inputs (the training dialog's trainers), no deployments.
   */
  window.replicateModelPicker = function (options) {
    var t = options.t;
    var root = options.root;
    var current = 0; // the search shown: answers to an earlier one are dropped
    var next = null; // cursor of the next page of the current search
    var loading = false;
    var failed = false;
    var picked = null;

    var query = $('<input type="text" id="replicate-picker-query" class="replicate-picker-query">').attr('placeholder', t('picker.query'));
    var searchButton = $('<button type="button" id="replicate-picker-search" class="red-ui-button replicate-picker-search">').text(
      t('picker.search'),
    );
    var deployments = $('<input type="checkbox" id="replicate-picker-deployments" class="replicate-picker-deployments">');
    var legend = $('<div class="replicate-picker-legend">').append(
      $('<span class="replicate-picker-official">').text('\u2713'),
      $('<span>').text(' ' + t('picker.legendOfficial') + '  '),
      $('<span class="replicate-picker-runs">').text('\u25B6'),
      $('<span>').text(' ' + t('picker.legendRuns')),
    );
    if (options.trainable) {
      deployments.prop('disabled', true);
      legend.append($('<div>').text(t('picker.notTrainable')));
    }
    var results = $('<ul id="replicate-picker-results" class="replicate-picker-results">');
    var more = $('<button type="button" id="replicate-picker-more" class="red-ui-button replicate-picker-more">')
      .text(t('picker.more'))
      .hide();
    var versions = $('<select id="replicate-picker-version" class="replicate-picker-version">');
    var versionRow = $('<div class="replicate-picker-version-row">')
      .append($('<span>').text(t('picker.version') + ' '), versions)
      .hide();
    var links = $('<div id="replicate-picker-links" class="replicate-picker-links">').hide();
    root
      .empty()
      .append(
        $('<div class="replicate-picker-bar">').append(
          query,
          searchButton,
          $('<label class="replicate-picker-deployments-label">').append(deployments, $('<span>').text(t('picker.deployments'))),
        ),
        legend,
        results,
        more,
        versionRow,
        links,
      );

    function note(text, error) {
      return $('<li class="replicate-note">').toggleClass('replicate-error', !!error).text(text);
    }
    function row(label, onPick) {
      var item = $('<li class="replicate-picker-item">').append(label);
      return item.on('click', function () {
        results.children().removeClass('selected');
        item.addClass('selected');
        onPick();
      });
    }
    function modelRow(model) {
      var label = [$('<span class="replicate-picker-ref">').text(model.ref)];
      if (model.official)
        label.push($('<span class="replicate-picker-official">').attr('title', t('picker.legendOfficial')).text('\u2713'));
      if (typeof model.runs === 'number') {
        label.push(
          $('<span class="replicate-picker-runs">')
            .attr('title', t('picker.runs', { runs: model.runs }))
            .text('\u25B6 ' + shortCount(model.runs)),
        );
      }
      if (model.description) label.push($('<div class="replicate-picker-description">').text(model.description));
      return row(label, function () {
        choose(model);
      });
    }
    function failure(message) {
      failed = true;
      results.append(note(message, true));
    }

    function refOf(model, version) {
      if (version) return model.ref + ':' + version;
      // an official model runs by name; another runs at its latest version, written out
      return model.official || !model.latestVersion ? model.ref : model.ref + ':' + model.latestVersion;
    }
    function link(href, text) {
      return $('<a target="_blank" rel="noopener noreferrer">').attr('href', href).text(text);
    }
    function choose(model) {
      picked = model;
      // picked: the list folds away so the form comes into view (a new search brings it back)
      results.hide();
      legend.hide();
      more.hide();
      versions.empty().append($('<option>').val('').text(t('picker.latest')));
      versionRow.show();
      var page = 'https://replicate.com/' + model.ref.split('/').map(encodeURIComponent).join('/');
      links
        .empty()
        .append(
          link(page, t('picker.page')),
          ' \u00B7 ',
          link(page + '/readme', t('picker.readme')),
          ' \u00B7 ',
          link(page + '/examples', t('picker.examples')),
        )
        .show();
      options.onModel(refOf(model, ''));
      options.ask('versions', { model: model.ref }, function (answer) {
        if (!answer.ok || picked !== model) return;
        answer.versions.forEach(function (v) {
          versions.append(
            $('<option>')
              .val(v.id)
              .text(v.id.slice(0, 12) + (v.created_at ? '  ' + v.created_at.slice(0, 10) : '')),
          );
        });
      });
    }
    versions.on('change', function () {
      if (picked) options.onModel(refOf(picked, versions.val()));
      root.hide(); // model and version chosen: the picker folds away
    });

    function page(search, cursor) {
      loading = true;
      more.prop('disabled', true);
      options.ask('models', { query: query.val(), cursor: cursor || undefined }, function (answer) {
        if (search !== current) return;
        loading = false;
        more.prop('disabled', false);
        if (!cursor) results.empty();
        if (!answer.ok) return failure(answer.message);
        if (!cursor && !answer.models.length) return results.append(note(t('picker.nothing')));
        answer.models.forEach(function (m) {
          if (!options.trainable || m.trainable) results.append(modelRow(m));
        });
        next = answer.next || null;
        more.toggle(!!next);
      });
    }
    function search() {
      var search = ++current;
      next = null;
      failed = false;
      more.hide();
      results.show();
      legend.show();
      results.empty().append(note(t('picker.searching')));
      if (!deployments.prop('checked')) return page(search, null);
      loading = true;
      options.ask('deployments', {}, function (answer) {
        if (search !== current) return;
        loading = false;
        results.empty();
        if (!answer.ok) return failure(answer.message);
        if (!answer.deployments.length) return results.append(note(t('picker.nothing')));
        answer.deployments.forEach(function (d) {
          var label = [$('<span class="replicate-picker-ref">').text(d.ref)];
          if (d.model) label.push($('<div class="replicate-picker-description">').text(d.model));
          results.append(
            row(label, function () {
              picked = null;
              versionRow.hide();
              links.hide();
              root.hide(); // a deployment runs its own version: nothing more to choose
              options.onDeployment(d.ref);
            }),
          );
        });
      });
    }
    function loadMore() {
      if (next && !loading) page(current, next);
    }

    results.on('scroll', function () {
      if (this.scrollTop + this.clientHeight >= this.scrollHeight - 40) loadMore();
    });
    more.on('click', loadMore);
    searchButton.on('click', search);
    query.on('keydown', function (e) {
      if (e.key === 'Enter') {
        e.preventDefault();
        search();
      }
    });
    deployments.on('change', search);
    options.open.on('click', function () {
      root.toggle();
      if (root.is(':visible')) query.trigger('focus');
    });
    // The editor redraws the account select when its dialog closes: a search that failed (a
    // rejected token, say) runs again, so a fixed account clears the error.
    options.account.on('change', function () {
      if (failed) search();
    });
  };
})();
