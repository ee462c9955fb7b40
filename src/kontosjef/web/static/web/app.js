// Kontosjef's only page script: renders Vega-Lite charts and keeps them alive across htmx swaps.
// Charts are <figure data-vega-spec="ID"> elements whose spec is in <script type="application/json" id="ID">.
// The expression interpreter keeps Vega from compiling code with new Function, so the
// Content-Security-Policy needs no 'unsafe-eval'.
(function () {
  "use strict";

  function renderCharts(root) {
    if (typeof window.vegaEmbed !== "function") {
      return;
    }
    root.querySelectorAll("figure[data-vega-spec]:not([data-rendered])").forEach(function (figure) {
      var source = document.getElementById(figure.getAttribute("data-vega-spec"));
      if (!source) {
        return;
      }
      figure.setAttribute("data-rendered", "1");
      var spec = JSON.parse(source.textContent);
      window
        .vegaEmbed(figure, spec, {
          actions: false,
          renderer: "svg",
          ast: true,
          expr: window.vegaInterpreter.expressionInterpreter,
          defaultStyle: false,
          tooltip: { theme: "light", disableDefaultStyle: true },
        })
        .catch(function (error) {
          figure.textContent = figure.getAttribute("aria-label") + ": " + error.message;
        });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    renderCharts(document);
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    renderCharts(event.target);
  });

  // Forms and buttons with data-confirm ask before they submit (no inline handlers under CSP).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });

  // Selects marked data-autosubmit submit their form when changed (filters).
  document.addEventListener("change", function (event) {
    var field = event.target;
    if (field.matches && field.matches("[data-autosubmit]") && field.form) {
      if (typeof field.form.requestSubmit === "function") {
        field.form.requestSubmit();
      } else {
        field.form.submit();
      }
    }
  });
})();
