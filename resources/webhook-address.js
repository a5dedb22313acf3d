// The address Replicate calls for a prediction completed node, as its runtime builds it
// (nodes/core/webhooks/url.ts: Public URL + httpNodeRoot + path; each prediction adds its
// ?correlation=...), and whether Replicate can reach it. Pure functions the unit tests run in
// Node; loaded by the dialog with <script src="resources/@nr-replicate/node-red-replicate/webhook-address.js">.
(function () {
  function trimSlashes(text) {
    return String(text || '').replace(/^\/+|\/+$/g, '');
  }

  /** The URL without its per-prediction query; '' when the Public URL is no http(s) URL (the runtime refuses it then). */
  function webhookAddress(publicUrl, nodeRoot, path) {
    var base;
    try {
      base = new URL(String(publicUrl || '').trim());
    } catch (e) {
      return '';
    }
    if (!/^https?:$/.test(base.protocol)) return '';
    var segments = [trimSlashes(base.pathname), trimSlashes(nodeRoot), trimSlashes(path)].filter(Boolean);
    var url = new URL(base.href);
    url.pathname = '/' + segments.join('/');
    url.search = '';
    url.hash = '';
    return url.toString();
  }

  /** This machine: localhost, 127.*, ::1. */
  function isLoopback(host) {
    host = String(host)
      .toLowerCase()
      .replace(/^\[|\]$/g, '');
    return host === 'localhost' || /\.localhost$/.test(host) || /^127\./.test(host) || host === '::1' || host === '0.0.0.0';
  }

  /** A host only a local network reaches: loopback, 10/8, 172.16/12, 192.168/16, 169.254/16, IPv6 fc00::/7 and fe80::/10, *.local. */
  function isPrivate(host) {
    host = String(host)
      .toLowerCase()
      .replace(/^\[|\]$/g, '');
    if (isLoopback(host) || /\.(local|internal|lan|home)$/.test(host) || (host.indexOf('.') === -1 && host.indexOf(':') === -1))
      return true;
    var v4 = /^(\d+)\.(\d+)\.\d+\.\d+$/.exec(host);
    if (v4) {
      var a = Number(v4[1]);
      var b = Number(v4[2]);
      return a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 169 && b === 254);
    }
    return /^(f[cd][0-9a-f]{2}|fe[89ab][0-9a-f]):/.test(host);
  }

  /**
   * Why Replicate cannot call this address ('http', 'private'), or '' when it can or when the
   * account's API is itself on this machine (the local emulator calls what Node-RED serves).
   */
  function unreachableReason(address, apiBaseUrl) {
    if (!address) return '';
    try {
      if (isLoopback(new URL(String(apiBaseUrl || '').trim()).hostname)) return '';
    } catch (e) {
      // no API base URL that parses: Replicate's own, which is on the internet
    }
    var url = new URL(address);
    if (isPrivate(url.hostname)) return 'private';
    if (url.protocol === 'http:') return 'http';
    return '';
  }

  window.replicateWebhookAddress = { webhookAddress: webhookAddress, unreachableReason: unreachableReason };
})();
