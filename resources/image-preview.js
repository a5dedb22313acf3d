// The latest output images under a create, get or prediction completed node, as
// node-red-contrib-image-output draws its images: the runtime publishes them on the
// `replicate-preview` topic (nodes/image-preview.ts), this draws each as an SVG <image> in the
// node's group, under the node. A click opens the full image. Loaded by those nodes' dialogs with
// <script src="resources/@nr-replicate/node-red-replicate/image-preview.js"></script>.
(function () {
  // three node types load it: subscribe once (and not where no editor runs, as in the unit tests' stand-in)
  if (window.replicateImagePreview || !RED.comms) return;
  var SVG = 'http://www.w3.org/2000/svg';
  var GAP = 4;
  var STATUS_HEIGHT = 22;

  /** Opens an image in a new tab; a data: URL as a blob (browsers refuse to open data: URLs). */
  function openImage(url) {
    if (url.indexOf('data:') !== 0) return window.open(url, '_blank', 'noopener');
    fetch(url)
      .then(function (res) {
        return res.blob();
      })
      .then(function (blob) {
        window.open(URL.createObjectURL(blob), '_blank', 'noopener');
      });
  }

  function remove(id) {
    var old = document.querySelectorAll('.replicate-preview[data-node="' + id + '"]');
    for (var i = 0; i < old.length; i++) old[i].parentNode.removeChild(old[i]);
  }

  function render(id, images, size) {
    remove(id);
    var group = document.getElementById(id);
    var node = RED.nodes.node(id);
    if (!group || !node || !images || images.length === 0) return;
    var width = Number(size) || 160;
    var top = (node.h || 30) + STATUS_HEIGHT; // under the node's status, which stays readable
    images.forEach(function (url, index) {
      var image = document.createElementNS(SVG, 'image');
      image.setAttribute('class', 'replicate-preview');
      image.setAttribute('data-node', id);
      image.setAttribute('x', String(index * (width + GAP)));
      image.setAttribute('y', String(top));
      image.setAttribute('width', String(width));
      image.setAttribute('height', String(width)); // until it loads: then as tall as its aspect ratio says
      image.setAttribute('preserveAspectRatio', 'xMinYMin meet');
      image.setAttribute('href', url);
      image.style.cursor = 'pointer';
      var title = document.createElementNS(SVG, 'title');
      title.textContent = RED._('@nr-replicate/node-red-replicate/replicate-create-prediction:replicate-create-prediction.preview.open');
      image.appendChild(title);
      image.addEventListener('click', function (event) {
        event.stopPropagation();
        openImage(url);
      });
      var probe = new Image();
      probe.onload = function () {
        if (probe.naturalWidth > 0) image.setAttribute('height', String(Math.round((width * probe.naturalHeight) / probe.naturalWidth)));
      };
      probe.src = url;
      group.appendChild(image);
    });
  }

  RED.comms.subscribe('replicate-preview', function (topic, data) {
    if (data && data.id) render(data.id, data.images, data.size);
  });
  window.replicateImagePreview = { render: render, remove: remove };
})();
