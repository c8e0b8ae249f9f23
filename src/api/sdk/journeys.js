/* Journeys web snippet: fires a custom trigger from a web page with a publishable key.

   <script src="https://journeys.example.com/sdk/journeys.js" data-key="jkpub_..."></script>
   <script>
     Journeys.fire("whitepaper.downloaded", {email: "ada@example.com", attributes: {paper: "q3"}})
       .then(function (answer) { ... }, function (error) { ... });
   </script>

   fire(trigger, options) sends one event; options: contactId and/or email (who the visitor
   is), firstName, lastName, attributes, eventId, key. It resolves to {event_id, trigger,
   duplicate} and rejects with an Error carrying `status` and the `answer` body. Each event
   gets an id, sent again on every retry, so Journeys acts on it once.
   No cookies, no storage, nothing read from the page: it sends what it is given. */
(function () {
  "use strict";

  var script = document.currentScript;
  var base = script ? script.src.replace(/\/sdk\/journeys\.js([?#].*)?$/, "") : "";
  var defaultKey = script ? script.getAttribute("data-key") : null;
  var RETRIES = 2;

  function newId() {
    var bytes = window.crypto.getRandomValues(new Uint8Array(16));
    return Array.prototype.map.call(bytes, function (b) {
      return (b + 256).toString(16).slice(1);
    }).join("");
  }

  function later(seconds) {
    return new Promise(function (resolve) {
      setTimeout(resolve, Math.min(seconds, 10) * 1000);
    });
  }

  function send(url, body, attempt) {
    var retry = function (seconds) {
      return later(seconds).then(function () { return send(url, body, attempt + 1); });
    };
    return fetch(url, {
      method: "POST",
      mode: "cors",
      credentials: "omit",
      headers: {"Content-Type": "application/json"},
      body: body
    }).then(function (response) {
      if (response.status === 503 && attempt < RETRIES) {
        return retry(Number(response.headers.get("Retry-After")) || 1);
      }
      return response.json().then(function (answer) {
        if (response.ok) { return answer; }
        var error = new Error("journeys: " + (answer.detail || "HTTP " + response.status));
        error.status = response.status;
        error.answer = answer;
        throw error;
      });
    }, function (failure) {
      // Offline, or refused by CORS (an origin the key does not name): the same to a page.
      if (attempt < RETRIES) { return retry(attempt + 1); }
      throw failure;
    });
  }

  function fire(trigger, options) {
    options = options || {};
    var body = {event_id: options.eventId || newId(), attributes: options.attributes || {}};
    if (options.contactId) { body.contact_id = String(options.contactId); }
    if (options.email) { body.email = String(options.email); }
    if (options.firstName) { body.first_name = String(options.firstName); }
    if (options.lastName) { body.last_name = String(options.lastName); }
    var url = base + "/sdk/triggers/" + encodeURIComponent(trigger) + "/events?key=" +
      encodeURIComponent(options.key || defaultKey || "");
    return send(url, JSON.stringify(body), 0);
  }

  window.Journeys = {fire: fire};
})();
