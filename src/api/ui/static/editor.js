// The journey editor's behaviour in the browser; the server does the editing (htmx posts
// each change and swaps the form it answers). This file only adds what a server cannot:
// the YAML code editor, and keeping the page's work when the session has ended.
(function () {
  "use strict";

  var yamlEditor = null;

  // The code editor over the YAML textarea, again after each swap of the form.
  htmx.onLoad(function (root) {
    var area = root.querySelector && root.querySelector("textarea#yaml");
    if (!area || !window.CodeMirror) {
      return;
    }
    yamlEditor = CodeMirror.fromTextArea(area, {
      mode: "yaml",
      lineNumbers: true,
      indentWithTabs: false,
      extraKeys: { Tab: false, "Shift-Tab": false }, // Tab leaves the editor: keyboard users
      viewportMargin: Infinity,
    });
    yamlEditor.getInputField().setAttribute("aria-label", "Definition as YAML");
  });

  // What the code editor holds is posted as the textarea's value.
  document.addEventListener("htmx:configRequest", function (event) {
    if (yamlEditor && document.body.contains(yamlEditor.getWrapperElement())) {
      event.detail.parameters.yaml = yamlEditor.getValue();
    }
  });

  // Controls marked data-local (the step kind to add, the simulation's inputs, the YAML)
  // are read when their button is pressed: changing them is not a change of the journey.
  document.addEventListener(
    "change",
    function (event) {
      if (event.target.closest && event.target.closest("[data-local], .CodeMirror")) {
        event.stopPropagation();
      }
    },
    true
  );

  // A session that has ended: the answer is 401 and htmx swaps nothing, so the form keeps
  // every change; the page says to sign in again (in another tab, which then opens this
  // page's address: the editor it came from) and carry on.
  document.addEventListener("htmx:responseError", function (event) {
    var notice = document.getElementById("signed-out");
    var link = document.getElementById("sign-in-again");
    if (notice && event.detail.xhr.status === 401) {
      link.search = "?next=" + encodeURIComponent(location.pathname + location.search);
      notice.hidden = false;
    }
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    var notice = document.getElementById("signed-out");
    if (notice && event.detail.successful) {
      notice.hidden = true;
    }
  });
})();
