// ordergraph's GraphiQL page script: it replaces the inline script of Strawberry's
// page, so the Content-Security-Policy can allow scripts from 'self' only.
//
// What differs from Strawberry's script, and why:
// - Its options come from the JSON block #ordergraph-graphiql (written by the server),
//   never from the URL: ?headers= is ignored, so a link cannot make the page send
//   someone else's API key. ?q= (the shared query) is still read; the server drops it
//   before serving the page when it holds a mutation or subscription.
// - The fetcher is rebuilt when the Headers tab's JSON changes (debounced), and
//   GraphiQL refetches the schema whenever its fetcher changes: the docs pane loads as
//   soon as a valid key is entered, without clicking "re-fetch".
// - A line above the editor says where API keys come from.
"use strict";

(function () {
  const config = JSON.parse(
    document.getElementById("ordergraph-graphiql").textContent,
  );

  const EXAMPLE_QUERY =
    "# Welcome to ordergraph's GraphiQL\n" +
    "#\n" +
    '# Put your API key in the Headers tab: {"Authorization": "Bearer <key>"}.\n' +
    "# The docs pane loads the schema as soon as the key is accepted.\n" +
    "#\n" +
    "# Run a query: Ctrl-Enter (or the play button). Complete: Ctrl-Space.\n";
  const HEADERS_SETTLE_MS = 400;

  // Only ?q= (and ?variables=) are read from the URL, as in Strawberry's page.
  const parameters = {};
  for (const [name, value] of new URLSearchParams(window.location.search)) {
    if (name === "q" || name === "variables") {
      parameters[name] = value;
    }
  }

  function updateURL(data) {
    Object.assign(parameters, data);
    const search = new URLSearchParams();
    for (const [name, value] of Object.entries(parameters)) {
      if (value) {
        search.set(name, value);
      }
    }
    history.replaceState(null, "", "?" + search.toString());
  }

  const fetchURL = window.location.href.split("?")[0].split("#")[0];
  const subscriptionURL = (function () {
    const url = new URL(config.subscriptionPath || fetchURL, window.location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    url.hash = "";
    return url.toString();
  })();

  // The Headers tab's JSON object, or null while it is not valid JSON (mid-typing).
  function parseHeaders(text) {
    if (!text || !text.trim()) {
      return {};
    }
    try {
      const parsed = JSON.parse(text);
      return parsed && typeof parsed === "object" && !Array.isArray(parsed)
        ? parsed
        : null;
    } catch (error) {
      return null;
    }
  }

  function makeFetcher(headers) {
    const defaults = {};
    const csrfToken = Cookies.get("csrftoken");
    if (csrfToken) {
      defaults["x-csrftoken"] = csrfToken;
    }
    // Headers also go into graphql-ws's connection_init: a browser cannot set them on
    // a WebSocket, and the gateway reads the key from there.
    return GraphiQL.createFetcher({
      url: fetchURL,
      headers: Object.assign(defaults, headers),
      subscriptionUrl: subscriptionURL,
      wsConnectionParams: headers,
    });
  }

  function showKeyHint() {
    if (!config.keyHint) {
      return;
    }
    const hint = document.createElement("div");
    hint.id = "ordergraph-key-hint";
    hint.setAttribute("role", "note");
    hint.textContent = config.keyHint;
    document.body.insertBefore(hint, document.getElementById("graphiql"));
  }

  function OrdergraphGraphiQL() {
    const [query, setQuery] = React.useState(parameters.q || EXAMPLE_QUERY);
    const [variables, setVariables] = React.useState(parameters.variables);
    // undefined lets GraphiQL use the headers it kept from the last visit.
    const initialHeaders = config.headers || undefined;
    const [headersText, setHeadersText] = React.useState(initialHeaders);
    const [settledHeaders, setSettledHeaders] = React.useState(
      JSON.stringify(parseHeaders(initialHeaders) || {}),
    );

    React.useEffect(
      function () {
        const timer = setTimeout(function () {
          const parsed = parseHeaders(headersText);
          if (parsed !== null) {
            setSettledHeaders(JSON.stringify(parsed));
          }
        }, HEADERS_SETTLE_MS);
        return function () {
          clearTimeout(timer);
        };
      },
      [headersText],
    );

    // A new fetcher only when the parsed headers really changed: each new fetcher
    // makes GraphiQL introspect again.
    const fetcher = React.useMemo(
      function () {
        return makeFetcher(JSON.parse(settledHeaders));
      },
      [settledHeaders],
    );

    return React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultEditorToolsVisibility: true,
      plugins: [GraphiQLPluginExplorer.explorerPlugin()],
      query: query,
      variables: variables,
      headers: initialHeaders,
      onEditQuery: function (newQuery) {
        setQuery(newQuery);
        updateURL({ q: newQuery });
      },
      onEditVariables: function (newVariables) {
        setVariables(newVariables);
        updateURL({ variables: newVariables });
      },
      onEditHeaders: setHeadersText,
      inputValueDeprecation: true,
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: true,
    });
  }

  showKeyHint();
  const root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(React.createElement(OrdergraphGraphiQL));
})();
