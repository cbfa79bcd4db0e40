// Starts Swagger UI (loaded before this file from /docs/assets) on the platform's OpenAPI schema.
// A file, not an inline script: the page's CSP allows scripts from this origin only.
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  window.ui = window.SwaggerUIBundle({
    url: root.getAttribute("data-openapi-url"),
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
  window.ui.initOAuth({ usePkceWithAuthorizationCodeGrant: true });
})();
