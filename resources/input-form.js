// The create and training dialogs' input form, generated from a model's input schema (the fields the
// `schema` and `training-schema` editor endpoints return: nodes/core/models/input-schema.ts). Loaded by the dialog with
// <script src="resources/@nr-replicate/node-red-replicate/input-form.js"></script>.
//
// The form is stored in two node properties: `input` (JSON) holds the fixed values, as it always
// has, and `inputFields` holds the fields read for each message ({name: {type, value}}, type one
// of msg, flow, global, env, jsonata), which the runtime evaluates. Everything above `render` is
// pure (no DOM, no RED) so that the unit tests run it in Node.
(function () {
  /** Where a field's value can come from besides a fixed value: the runtime's FIELD_SOURCES. */
  var SOURCES = ['msg', 'flow', 'global', 'env', 'jsonata'];
  /** Strings that usually hold more than a line get a text area. */
  var LONG_TEXT = /(^|_)(prompt|text|lyrics|instructions?|messages?|system|question|caption|template)(_|$)/;

  function isUri(field) {
    return field.format === 'uri' || (field.type === 'array' && field.itemFormat === 'uri');
  }

  /** The widget of one field: what the form shows and how its text becomes a value. */
  function widgetFor(field) {
    var widget = {
      name: field.name,
      // the schema's title where it has one ("Aspect Ratio"), the key beside it; else the key
      label: field.title && field.title !== field.name ? field.title : field.name,
      description: field.description || '',
      required: !!field.required,
      placeholder:
        field.default === undefined || field.default === null || field.default === ''
          ? ''
          : String(typeof field.default === 'object' ? JSON.stringify(field.default) : field.default),
      uri: isUri(field),
    };
    if (Array.isArray(field.enum)) {
      widget.kind = 'select';
      widget.options = field.enum.map(function (choice) {
        return String(choice);
      });
    } else if (field.type === 'boolean') widget.kind = 'checkbox';
    else if (field.type === 'integer' || field.type === 'number') {
      widget.kind = 'number';
      widget.step = field.type === 'integer' ? 1 : 'any';
      if (typeof field.minimum === 'number') widget.min = field.minimum;
      if (typeof field.maximum === 'number') widget.max = field.maximum;
    } else if (field.type === 'string') widget.kind = widget.uri ? 'file' : LONG_TEXT.test(field.name) ? 'textarea' : 'text';
    else widget.kind = 'json'; // arrays, objects and fields of no stated type
    return widget;
  }

  /** The widgets of a schema's fields, in the model's order (x-order, as the endpoint sorted them). */
  function formFields(fields) {
    return fields
      .slice()
      .sort(function (a, b) {
        return a.order - b.order;
      })
      .map(widgetFor);
  }

  /** The TypedInput type that holds a fixed value of this widget. */
  function fixedType(widget) {
    return { select: 'choice', checkbox: 'check', number: 'num', textarea: 'text', json: 'json' }[widget.kind] || 'str';
  }

  function textOf(value, widget) {
    if (value === undefined || value === null) return '';
    if (widget.kind === 'json' || typeof value === 'object') return JSON.stringify(value);
    return String(value);
  }

  /** What each widget shows for a stored form: {name: {type, value}}, the value as text. */
  function formValues(widgets, input, inputFields) {
    var values = {};
    widgets.forEach(function (widget) {
      var typed = inputFields && inputFields[widget.name];
      if (typed && SOURCES.indexOf(typed.type) !== -1) values[widget.name] = { type: typed.type, value: String(typed.value) };
      else
        values[widget.name] = {
          type: fixedType(widget),
          value: input && Object.prototype.hasOwnProperty.call(input, widget.name) ? textOf(input[widget.name], widget) : '',
        };
    });
    return values;
  }

  /** The fixed value a widget's text stands for; undefined when the field is left empty (then it is not sent). */
  function fixedValue(widget, text, field) {
    if (text === undefined || text === null || String(text).trim() === '') return undefined;
    text = String(text);
    switch (widget.kind) {
      case 'number': {
        var number = Number(text.trim());
        return isFinite(number) ? number : text;
      }
      case 'select': {
        var choices = (field && field.enum) || widget.options;
        for (var i = 0; i < choices.length; i++) if (String(choices[i]) === text) return choices[i];
        return text;
      }
      case 'checkbox': {
        var checked = text === 'true';
        // the schema's default (else unticked) is what Replicate uses anyway: only a change is sent, unless the field must be given
        var unchanged = field && field.default !== undefined ? field.default === checked : !checked;
        return unchanged && !widget.required ? undefined : checked;
      }
      case 'json':
        try {
          return JSON.parse(text);
        } catch (e) {
          return text;
        }
      default:
        return text;
    }
  }

  /** The node properties a form stands for: `input` (the fixed values) and `inputFields` (the others). */
  function formToInput(fields, values) {
    var input = {};
    var inputFields = {};
    fields.forEach(function (field) {
      var widget = widgetFor(field);
      var value = values[field.name];
      if (!value) return;
      if (SOURCES.indexOf(value.type) !== -1) {
        if (String(value.value).trim()) inputFields[field.name] = { type: value.type, value: String(value.value).trim() };
        return;
      }
      var fixed = fixedValue(widget, value.value, field);
      if (fixed !== undefined) input[field.name] = fixed;
    });
    return { input: input, inputFields: inputFields };
  }

  /** A stored form without the fields a (new) schema does not have, and the names of those dropped. */
  function dropStale(fields, input, inputFields) {
    var known = {};
    fields.forEach(function (field) {
      known[field.name] = true;
    });
    var dropped = [];
    function keep(from) {
      var kept = {};
      Object.keys(from || {}).forEach(function (name) {
        if (known[name]) kept[name] = from[name];
        else if (dropped.indexOf(name) === -1) dropped.push(name);
      });
      return kept;
    }
    return { input: keep(input), inputFields: keep(inputFields), dropped: dropped };
  }

  /**
   * The field a plain string msg.payload goes to: the model's `prompt`, or else its first required
   * string field that is not a file (format uri), in the model's order. The runtime's rule too.
   */
  function payloadField(fields) {
    var sorted = fields.slice().sort(function (a, b) {
      return a.order - b.order;
    });
    for (var i = 0; i < sorted.length; i++) if (sorted[i].name === 'prompt') return 'prompt';
    for (var j = 0; j < sorted.length; j++) {
      var f = sorted[j];
      if (f.required && f.type === 'string' && f.format !== 'uri') return f.name;
    }
    return undefined;
  }

  /**
   * The field a Buffer msg.payload (a file read by core *read file*) goes to: the model's first
   * required file input (format uri) in the model's order, else its only one. The runtime's rule too.
   */
  function fileField(fields) {
    var files = fields
      .filter(function (f) {
        return f.format === 'uri';
      })
      .sort(function (a, b) {
        return a.order - b.order;
      });
    for (var i = 0; i < files.length; i++) if (files[i].required) return files[i].name;
    return files.length === 1 ? files[0].name : undefined;
  }

  /** Whether a widget's fixed text is one the model takes (a number in range, a known choice, JSON). */
  function acceptsText(widget, text) {
    if (text === undefined || text === null || String(text).trim() === '') return true;
    text = String(text).trim();
    if (widget.kind === 'number') {
      var number = Number(text);
      if (!isFinite(number) || (widget.step === 1 && number % 1 !== 0)) return false;
      return (widget.min === undefined || number >= widget.min) && (widget.max === undefined || number <= widget.max);
    }
    if (widget.kind === 'select') return widget.options.indexOf(text) !== -1;
    if (widget.kind === 'json') {
      try {
        JSON.parse(text);
        return true;
      } catch (e) {
        return false;
      }
    }
    return true;
  }

  // ------------------------------------------------------------------ the form in the dialog (browser only)

  /**
   * Builds the form into `container` (a jQuery element): one row per field, each a TypedInput
   * (the fixed value's widget, or msg, flow, global, env, JSONata). Returns read(), the values as
   * formToInput takes them. `t(key, vars)` gives the dialog's words.
   */
  function render($, container, fields, values, t) {
    var rows = [];
    container.empty().addClass('replicate-form');
    formFields(fields).forEach(function (widget) {
      var id = 'replicate-form-' + widget.name.replace(/[^\w-]/g, '_');
      var row = $('<div class="form-row replicate-form-row">').attr('data-field', widget.name).appendTo(container);
      var label = $('<label class="replicate-form-label">').attr('for', id).appendTo(row);
      var titled = widget.label !== widget.name;
      if (titled) label.addClass('replicate-form-titled').text(widget.label);
      else
        // a key breaks only after its underscores, never mid-word
        widget.name.split(/(?<=_)/).forEach(function (part, i) {
          if (i > 0) label.append('<wbr>');
          label.append(document.createTextNode(part));
        });
      if (widget.required) label.append($('<span class="replicate-required" aria-label="required">').text(' *'));
      if (widget.description) label.attr('title', widget.description);
      var input = $('<input type="text" class="replicate-form-input">').attr('id', id).attr('data-kind', widget.kind).appendTo(row);
      var fixed = fixedType(widget);
      var extra;
      var types;
      if (widget.kind === 'select') {
        var options = [
          { value: '', label: widget.placeholder ? t('form.schemaDefault', { value: widget.placeholder }) : t('form.notSent') },
        ];
        widget.options.forEach(function (o) {
          options.push({ value: o, label: o });
        });
        types = [{ value: 'choice', label: t('form.choice'), icon: 'fa fa-list', options: options }];
      } else if (widget.kind === 'checkbox') {
        types = [{ value: 'check', label: t('form.checkbox'), icon: 'fa fa-check-square-o', hasValue: false }];
        extra = $('<input type="checkbox" class="replicate-form-check">').attr('aria-label', widget.name);
      } else if (widget.kind === 'textarea') {
        types = [{ value: 'text', label: t('form.text'), icon: 'red/images/typedInput/az.svg', hasValue: false }];
        extra = $('<textarea class="replicate-form-text" rows="3">')
          .attr('placeholder', widget.placeholder)
          .attr('aria-label', widget.name);
      } else types = [fixed === 'str' ? 'str' : fixed];
      types = types.concat(SOURCES);
      var value = values[widget.name] || { type: fixed, value: '' };
      input.typedInput({ default: fixed, types: types });
      input.typedInput('type', value.type);
      if (extra) {
        extra.appendTo(row);
        if (widget.kind === 'checkbox')
          extra.prop('checked', value.type === 'check' && value.value !== '' ? value.value === 'true' : widget.placeholder === 'true');
        else extra.val(value.type === 'text' ? value.value : '');
        var toggle = function () {
          extra.toggle(input.typedInput('type') === fixed);
        };
        input.on('change', toggle);
        toggle();
      }
      if (value.type !== fixed || !extra) input.typedInput('value', value.type === fixed && extra ? '' : value.value);
      if (widget.kind === 'number' || widget.kind === 'text' || widget.kind === 'file' || widget.kind === 'json') {
        var hint = widget.kind === 'file' ? t('form.file') : widget.placeholder;
        row.find('.red-ui-typedInput-input input, input.red-ui-typedInput-input').attr('placeholder', hint);
        input.attr('placeholder', hint);
      }
      if (widget.kind === 'number' || widget.kind === 'json') {
        // a number out of the model's range (or JSON that does not parse) shows red, as Node-RED marks a bad property
        var check = function () {
          var bad = input.typedInput('type') === fixed && !acceptsText(widget, input.typedInput('value'));
          row.find('.red-ui-typedInput-container').toggleClass('input-error', bad);
        };
        input.on('change', check);
        check();
      }
      var notes = [];
      var note = $('<div class="replicate-form-note">');
      if (titled) note.append($('<code class="replicate-form-key">').text(widget.name));
      if (widget.kind === 'number' && (widget.min !== undefined || widget.max !== undefined)) {
        notes.push(
          t('form.range', { min: widget.min === undefined ? '\u2026' : widget.min, max: widget.max === undefined ? '\u2026' : widget.max }),
        );
      }
      if (widget.uri) notes.push(t('form.fileNote'));
      if (widget.description) notes.push(widget.description);
      if (notes.length) note.append(document.createTextNode((titled ? ' \u00b7 ' : '') + notes.join(' \u00b7 ')));
      if (titled || notes.length) note.appendTo(row);
      rows.push({
        widget: widget,
        read: function () {
          var type = input.typedInput('type');
          if (type !== fixed || !extra) return { type: type, value: input.typedInput('value') };
          if (widget.kind === 'checkbox') return { type: type, value: String(extra.prop('checked')) };
          return { type: type, value: extra.val() };
        },
      });
    });
    return function read() {
      var values = {};
      rows.forEach(function (row) {
        values[row.widget.name] = row.read();
      });
      return values;
    };
  }

  // ------------------------------------------------------------------ the form in a create or training dialog (browser only)

  /**
   * The input form of a create or training dialog, kept in node._replicateForm until the dialog closes: built from the
   * schema of what the node runs when that is a fixed value (a model, a deployment, a trainer) and the input is JSON,
   * else the JSON editor (#node-input-input, rows .replicate-input-json) holding the form's fixed values. Returns the
   * form's state; its show() asks for the schema again (after the TypedInputs `options.watch` change, once typing stops).
   * options: node, t(key, vars), ask(path, body, done) (replicateAsk), watch (a selector);
   * request(): what to ask for the schema, {source, path, body}, or with nothing fixed {typed: whether it is read per message};
   * noSchemaIsError: a schema not found is said as an error; hints(answer, kept, note): where msg.payload goes.
   */
  function dialog(options) {
    var node = options.node;
    var t = options.t;
    var json = $('#node-input-input');
    var fields = $('#replicate-input-fields');
    var notes = $('#replicate-input-notes');
    var form = (node._replicateForm = { fields: null, read: null, inputFields: $.extend({}, node.inputFields || {}), asked: 0 });
    function note(text, error) {
      return $('<div class="replicate-note">').toggleClass('replicate-error', !!error).text(text).appendTo(notes);
    }
    function jsonInput() {
      var input;
      try {
        input = JSON.parse(json.typedInput('value') || '{}');
      } catch (e) {
        input = null;
      }
      return input && typeof input === 'object' && !Array.isArray(input) ? input : {};
    }
    /** The form as it stands: from its widgets when shown, else from the JSON editor and the stored fields. */
    function currentForm() {
      if (form.fields) return formToInput(form.fields, form.read());
      return { input: jsonInput(), inputFields: form.inputFields };
    }
    /** Back to the JSON editor, which then holds the form's fixed values. */
    function showJson() {
      if (form.fields) {
        var current = currentForm();
        json.typedInput('value', JSON.stringify(current.input, null, 2));
        form.inputFields = current.inputFields;
      }
      form.fields = form.read = null;
      fields.empty().hide();
      $('.replicate-input-json').show();
      var kept = Object.keys(form.inputFields);
      if (kept.length && json.typedInput('type') === 'json') note(t('form.kept', { names: kept.join(', ') }));
    }
    function show() {
      if (form.closed) return;
      var asked = ++form.asked;
      var request = options.request();
      // the form shown is already this source's (typedInput says "change" for many things): keep it and its notes
      if (form.fields && form.source === request.source && json.typedInput('type') === 'json') return;
      form.source = null;
      notes.empty();
      if (json.typedInput('type') !== 'json') return showJson();
      if (!request.source) {
        note(t(request.typed ? 'form.needsFixedModel' : 'form.noForm'));
        return showJson();
      }
      note(t('schema.loading'));
      options.ask(request.path, request.body, function (answer) {
        if (asked !== form.asked || form.closed) return; // the source changed again meanwhile, or the dialog closed
        notes.empty();
        if (!answer.ok) {
          note(answer.message, true);
          return showJson();
        }
        if (!answer.fields) {
          note(t('schema.none'), !!options.noSchemaIsError);
          return showJson();
        }
        // fields the new schema lacks are dropped, and said: the old model's prompt must not reach an upscaler
        var current = currentForm();
        var kept = dropStale(answer.fields, current.input, current.inputFields);
        if (kept.dropped.length) note(t('form.dropped', { names: kept.dropped.join(', ') })).addClass('replicate-dropped');
        options.hints(answer, kept, note);
        $('.replicate-input-json').hide();
        fields.show();
        form.read = render($, fields, answer.fields, formValues(formFields(answer.fields), kept.input, kept.inputFields), t);
        form.fields = answer.fields;
        form.source = request.source;
        form.inputFields = kept.inputFields;
      });
    }
    form.show = show;
    $(options.watch).on('change', function () {
      // typedInput says "change" on every key: ask for the schema once the typing stops
      clearTimeout(form.timer);
      form.timer = setTimeout(show, 300);
    });
    show();
    return form;
  }

  /** The dialog closes: a schema answer or a pending re-render that arrives later finds no form to fill. */
  function close(node) {
    var form = node._replicateForm;
    if (form) {
      form.closed = true;
      clearTimeout(form.timer);
    }
    delete node._replicateForm;
  }

  /** The dialog is saved: the form into `input` and `inputFields` (none read per message unless the input is JSON), and closed. */
  function save(node) {
    var form = node._replicateForm;
    if (form && $('#node-input-input').typedInput('type') === 'json') {
      var current = form.fields ? formToInput(form.fields, form.read()) : { input: null, inputFields: form.inputFields };
      if (current.input) $('#node-input-input').typedInput('value', JSON.stringify(current.input));
      node.inputFields = current.inputFields;
    } else node.inputFields = {};
    close(node);
  }

  window.replicateInputForm = {
    SOURCES: SOURCES,
    widgetFor: widgetFor,
    formFields: formFields,
    fixedType: fixedType,
    formValues: formValues,
    formToInput: formToInput,
    dropStale: dropStale,
    payloadField: payloadField,
    fileField: fileField,
    acceptsText: acceptsText,
    render: render,
    dialog: dialog,
    close: close,
    save: save,
  };
})();
