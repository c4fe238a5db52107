/*
 * The shop assistant's storefront widget. One tag embeds it:
 *
 *   <script src="https://APP/static/assistant/widget.js" data-key="pk_..." data-product="SKU" async></script>
 *
 * data-key      the site's publishable key (it can only ask questions, from the key's allowed origins)
 * data-product  optional: SKU of the product the page shows (questions are about it)
 * data-api      optional: the API base, by default <origin of this script>/api/v1/assistant/
 * data-title    optional: the panel's title
 *
 * Plain JavaScript, no build step, nothing loaded from elsewhere. It draws in a shadow root (the shop's CSS
 * does not reach it and its CSS does not leak out), streams each answer (fetch + ReadableStream over
 * server-sent events), shows the cited sources under it, asks "Did this help?", and after a hand-off polls the
 * conversation for the shop's reply. The conversation id lives in sessionStorage: it survives page changes
 * within the visit, not the visit. Server text is only ever set as textContent, never as HTML.
 */
(function () {
  "use strict";

  var script = document.currentScript ||
    document.querySelector('script[data-key][src*="assistant/widget"]');
  if (!script || !script.getAttribute("data-key")) {
    if (window.console) console.error("assistant widget: the script tag needs data-key=\"pk_...\"");
    return;
  }
  var KEY = script.getAttribute("data-key");
  var PRODUCT = script.getAttribute("data-product") || "";
  var TITLE = script.getAttribute("data-title") || "Questions? Ask us";
  var API = script.getAttribute("data-api") || new URL("/api/v1/assistant/", script.src).href;
  if (API.charAt(API.length - 1) !== "/") API += "/";
  var STORE = "ecm-assistant:" + KEY;
  var STAGES = { retrieving: "Looking in the shop's answers\u2026", writing: "Writing the answer\u2026" };
  var POLL_MS = 5000, POLL_MAX_MS = 30000, POLL_FOR_MS = 30 * 60 * 1000;

  var CSS = [
    ":host { all: initial; }",
    "* { box-sizing: border-box; font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; }",
    ".launcher { position: fixed; right: 20px; bottom: 20px; z-index: 2147483000; border: 0; border-radius: 24px;",
    "  padding: 12px 18px; background: #1f5f8b; color: #fff; font-size: 15px; cursor: pointer;",
    "  box-shadow: 0 2px 10px rgba(0,0,0,.25); }",
    ".launcher:focus-visible, button:focus-visible, textarea:focus-visible { outline: 3px solid #f0b429; outline-offset: 2px; }",
    ".panel { position: fixed; right: 20px; bottom: 76px; z-index: 2147483000; width: min(380px, calc(100vw - 40px));",
    "  height: min(560px, calc(100vh - 110px)); display: flex; flex-direction: column; background: #fff; color: #1b1b1b;",
    "  border-radius: 12px; box-shadow: 0 6px 30px rgba(0,0,0,.3); overflow: hidden; font-size: 14px; }",
    ".panel[hidden] { display: none; }",
    ".head { display: flex; align-items: center; justify-content: space-between; padding: 10px 14px; background: #1f5f8b; color: #fff; }",
    ".head h2 { margin: 0; font-size: 15px; }",
    ".close { background: transparent; border: 0; color: #fff; font-size: 20px; cursor: pointer; line-height: 1; }",
    ".log { flex: 1; overflow-y: auto; padding: 12px; display: flex; flex-direction: column; gap: 10px; }",
    ".msg { max-width: 88%; padding: 8px 11px; border-radius: 10px; white-space: pre-wrap; line-height: 1.4; }",
    ".shopper { align-self: flex-end; background: #e3f0fa; }",
    ".assistant { align-self: flex-start; background: #f2f2f2; }",
    ".staff { align-self: flex-start; background: #e8f6e8; border: 1px solid #9fd19f; }",
    ".who { display: block; font-size: 11px; color: #555; margin-bottom: 2px; }",
    ".status { font-size: 12px; color: #666; font-style: italic; }",
    ".sources { margin: 6px 0 0; padding: 6px 0 0; border-top: 1px solid #ddd; list-style: none; font-size: 12px; }",
    ".sources li { margin: 4px 0; }",
    ".sources blockquote { margin: 2px 0 0 8px; color: #444; border-left: 3px solid #ccc; padding-left: 6px; }",
    ".handoff { align-self: stretch; background: #fff7e0; border: 1px solid #f0d58c; padding: 8px 11px; border-radius: 8px; }",
    ".error { align-self: stretch; background: #fdecea; border: 1px solid #f5a39b; color: #7a1c12; padding: 8px 11px; border-radius: 8px; }",
    ".rate { margin-top: 6px; display: flex; gap: 6px; align-items: center; font-size: 12px; color: #555; }",
    ".rate button { border: 1px solid #bbb; background: #fff; border-radius: 6px; cursor: pointer; padding: 2px 8px; font-size: 14px; }",
    ".rate button[aria-pressed='true'] { background: #1f5f8b; color: #fff; border-color: #1f5f8b; }",
    "form { display: flex; gap: 8px; padding: 10px; border-top: 1px solid #ddd; }",
    "label.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }",
    "textarea { flex: 1; resize: none; padding: 8px; border: 1px solid #bbb; border-radius: 8px; font-size: 14px; }",
    ".send { border: 0; border-radius: 8px; background: #1f5f8b; color: #fff; padding: 0 14px; cursor: pointer; font-size: 14px; }",
    ".send:disabled { background: #8aa9bf; cursor: default; }"
  ].join("\n");

  // --- the elements ------------------------------------------------------------------------------------
  var host = document.createElement("div");
  host.setAttribute("data-assistant-widget", "");
  var root = host.attachShadow({ mode: "open" });
  var style = document.createElement("style");
  style.textContent = CSS;
  root.appendChild(style);

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) { node.setAttribute(name, attrs[name]); });
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  var launcher = el("button", { "class": "launcher", type: "button", "aria-expanded": "false",
    "aria-controls": "assistant-panel" }, "Ask a question");
  var panel = el("section", { "class": "panel", id: "assistant-panel", role: "dialog",
    "aria-label": TITLE, hidden: "" });
  var head = el("div", { "class": "head" });
  head.appendChild(el("h2", {}, TITLE));
  var closeButton = el("button", { "class": "close", type: "button", "aria-label": "Close the assistant" }, "\u00d7");
  head.appendChild(closeButton);
  var log = el("div", { "class": "log", role: "log", "aria-live": "polite", "aria-relevant": "additions text" });
  var form = el("form", {});
  var input = el("textarea", { id: "assistant-question", rows: "2", maxlength: "500",
    placeholder: "Ask about this product, delivery or returns" });
  var send = el("button", { "class": "send", type: "submit" }, "Send");
  form.appendChild(el("label", { "class": "sr", "for": "assistant-question" }, "Your question"));
  form.appendChild(input);
  form.appendChild(send);
  panel.appendChild(head);
  panel.appendChild(log);
  panel.appendChild(form);
  root.appendChild(launcher);
  root.appendChild(panel);

  // --- state -------------------------------------------------------------------------------------------
  var conversationId = null;
  try { conversationId = window.sessionStorage.getItem(STORE); } catch (e) { /* storage blocked */ }
  var shown = {};  // ids of messages drawn in the log
  var busy = false, pollTimer = null, pollDelay = POLL_MS, pollUntil = 0, loaded = false;

  function remember(id) {
    conversationId = id;
    try {
      if (id) window.sessionStorage.setItem(STORE, id); else window.sessionStorage.removeItem(STORE);
    } catch (e) { /* storage blocked: the conversation lasts as long as the page */ }
  }

  function scroll() { log.scrollTop = log.scrollHeight; }

  function say(kind, text) {
    var node = el("div", { "class": kind }, text);
    log.appendChild(node);
    scroll();
    return node;
  }

  // --- HTTP --------------------------------------------------------------------------------------------
  function request(method, path, body, accept) {
    return fetch(API + path, {
      method: method,
      mode: "cors",
      credentials: "omit",  // no cookies: the key is the only credential
      headers: { "X-Publishable-Key": KEY, "Content-Type": "application/json",
                 "Accept": accept || "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body)
    });
  }

  function ApiError(status, message, field) { this.status = status; this.message = message; this.field = field; }

  function firstMessage(body) {
    if (!body || typeof body !== "object") return "";
    if (typeof body.detail === "string") return body.detail;
    var field = Object.keys(body)[0];
    if (!field) return "";
    var value = body[field];
    var text = Array.isArray(value) ? value.join(" ") : (typeof value === "object" ? firstMessage(value) : String(value));
    return field === "detail" || field === "non_field_errors" ? text : field + ": " + text;
  }

  function failure(response) {
    return response.text().then(function (text) {
      var body = null;
      try { body = JSON.parse(text); } catch (e) { /* not JSON */ }
      var detail = firstMessage(body);
      var words;
      if (response.status === 429) {
        var wait = response.headers.get("Retry-After");
        words = "You are asking faster than the shop allows" + (wait ? ": please wait " + wait + " seconds." : ".") +
          (detail ? " (" + detail + ")" : "");
      } else if (response.status === 403) {
        words = "This page is not allowed to use the assistant." + (detail ? " (" + detail + ")" : "");
      } else if (response.status === 401) {
        words = "The assistant is switched off for this shop." + (detail ? " (" + detail + ")" : "");
      } else if (response.status === 400) {
        words = "The question could not be sent: " + (detail || "please check it.");
      } else {
        words = "The assistant had a problem (" + response.status + "). Please try again." ;
      }
      throw new ApiError(response.status, words, body && typeof body === "object" ? Object.keys(body)[0] : "");
    });
  }

  function json(response) { return response.ok ? response.json() : failure(response); }

  function startConversation() {
    var body = PRODUCT ? { product: PRODUCT } : {};
    return request("POST", "conversations/", body).then(json).then(function (conversation) {
      remember(conversation.id);
      return conversation.id;
    }, function (error) {
      if (!(error instanceof ApiError && error.status === 400 && error.field === "product" && PRODUCT)) throw error;
      // a page of a product the shop's catalog does not hold (yet): still answer about delivery and returns
      if (window.console) console.warn("assistant widget: unknown data-product " + PRODUCT + ": asking without it");
      PRODUCT = "";
      return startConversation();
    });
  }

  // --- server-sent events over fetch -------------------------------------------------------------------
  function readEvents(response, onEvent) {
    var reader = response.body.getReader();
    var decoder = new TextDecoder();
    var buffer = "";
    function dispatch(block) {
      var name = "message", data = [];
      block.split("\n").forEach(function (line) {
        if (line.indexOf("event:") === 0) name = line.slice(6).trim();
        else if (line.indexOf("data:") === 0) data.push(line.slice(5).replace(/^ /, ""));
      });
      if (!data.length) return;  // a comment (keep-alive)
      var payload;
      try { payload = JSON.parse(data.join("\n")); } catch (e) { payload = data.join("\n"); }
      onEvent(name, payload);
    }
    function pump() {
      return reader.read().then(function (chunk) {
        if (chunk.done) {
          if (buffer.trim()) dispatch(buffer);
          return;
        }
        buffer += decoder.decode(chunk.value, { stream: true }).replace(/\r\n/g, "\n");
        var end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          dispatch(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
        return pump();
      });
    }
    return pump();
  }

  // --- drawing messages --------------------------------------------------------------------------------
  function drawSources(node, citations) {
    if (!citations || !citations.length) return;
    var list = el("ul", { "class": "sources", "aria-label": "Sources" });
    citations.forEach(function (citation) {
      var item = el("li", {});
      item.appendChild(el("strong", {}, citation.title || citation.kind));
      if (citation.quote) item.appendChild(el("blockquote", {}, citation.quote));
      list.appendChild(item);
    });
    node.appendChild(list);
  }

  function drawRating(node, messageId, current) {
    var box = el("div", { "class": "rate" });
    box.appendChild(el("span", {}, "Did this help?"));
    // words, not emoji: a shopper's system may have no emoji font
    var up = el("button", { type: "button", "aria-label": "Yes, helpful",
      "aria-pressed": String(current === "helpful") }, "Yes");
    var down = el("button", { type: "button", "aria-label": "No, not helpful",
      "aria-pressed": String(current === "not_helpful") }, "No");
    function rate(helpful) {
      request("POST", "conversations/" + conversationId + "/messages/" + messageId + "/feedback/",
        { helpful: helpful }).then(json).then(function () {
        up.setAttribute("aria-pressed", String(helpful));
        down.setAttribute("aria-pressed", String(!helpful));
      }).catch(showError);
    }
    up.addEventListener("click", function () { rate(true); });
    down.addEventListener("click", function () { rate(false); });
    box.appendChild(up);
    box.appendChild(down);
    node.appendChild(box);
  }

  function handoffNotice(reason) {
    var words = reason === "order_status"
      ? "We can't see orders here, so a person from the shop will answer you in this chat."
      : "A person from the shop will answer you here. Keep this page open, or come back during your visit.";
    say("handoff", words);
  }

  function drawAnswer(node, answer) {
    node.textContent = "";
    node.appendChild(el("span", { "class": "who" }, "Assistant"));
    node.appendChild(document.createTextNode(answer.answer || answer.text || ""));
    drawSources(node, answer.citations);
    var id = answer.message_id || answer.id;
    if (id) {
      shown[id] = true;
      if (!answer.handed_off) drawRating(node, id, answer.feedback);
    }
    scroll();
  }

  function drawMessage(message, polling) {
    if (shown[message.id] || (polling && message.author === "shopper")) return;  // drawn when typed
    shown[message.id] = true;
    if (message.author === "shopper") { say("msg shopper", message.text); return; }
    var node = say("msg " + (message.author === "staff" ? "staff" : "assistant"), "");
    if (message.author === "staff") {
      node.appendChild(el("span", { "class": "who" }, "From the shop"));
      node.appendChild(document.createTextNode(message.text));
    } else {
      drawAnswer(node, message);
      if (message.handed_off) handoffNotice(message.handoff_reason);
    }
  }

  function showError(error) {
    say("error", error instanceof ApiError ? error.message
      : "Could not reach the assistant. Check your connection and try again.");
  }

  // --- polling for a person's reply --------------------------------------------------------------------
  function poll() {
    pollTimer = null;
    if (!conversationId || Date.now() > pollUntil) return;
    request("GET", "conversations/" + conversationId + "/").then(json).then(function (conversation) {
      var before = Object.keys(shown).length;
      conversation.messages.forEach(function (message) { drawMessage(message, true); });
      pollDelay = Object.keys(shown).length > before ? POLL_MS : Math.min(pollDelay * 1.5, POLL_MAX_MS);
      if (conversation.status === "handed_off") schedulePoll();
      else if (conversation.status === "closed") { say("status", "The conversation was closed."); remember(null); }
    }).catch(function (error) {
      if (error instanceof ApiError && error.status === 404) { remember(null); return; }
      schedulePoll();
    });
  }

  function schedulePoll(fresh) {
    if (fresh) { pollDelay = POLL_MS; pollUntil = Date.now() + POLL_FOR_MS; }
    if (!pollTimer) pollTimer = window.setTimeout(poll, pollDelay);
  }

  // --- asking ------------------------------------------------------------------------------------------
  function ask(question, retried) {
    var answerNode = null, status = null, streamed = null, sentences = "";
    function conversation() { return conversationId ? Promise.resolve(conversationId) : startConversation(); }
    return conversation().then(function (id) {
      status = say("status", "Looking for the answer\u2026");
      var body = { question: question };
      if (PRODUCT) body.product = PRODUCT;
      return request("POST", "conversations/" + id + "/messages/?stream=1", body,
        "text/event-stream, application/json");
    }).then(function (response) {
      if (!response.ok) {
        if (status) status.remove();
        if ((response.status === 404 || response.status === 409) && !retried) {
          remember(null);  // the conversation is gone or closed: start a new one
          return ask(question, true);
        }
        return failure(response);
      }
      var result = null;
      return readEvents(response, function (name, payload) {
        if (name === "status" && status && payload) {
          var stage = payload.status || payload.stage;
          status.textContent = payload.message || STAGES[stage] || status.textContent;
        } else if (name === "sentence" && payload && payload.text) {
          if (!answerNode) {
            answerNode = say("msg assistant", "");
            answerNode.appendChild(el("span", { "class": "who" }, "Assistant"));
            streamed = answerNode.appendChild(document.createTextNode(""));
          }
          sentences += (sentences ? " " : "") + payload.text;
          streamed.textContent = sentences;
          scroll();
        } else if (name === "done") result = payload;
        else if (name === "error") throw new ApiError(500, (payload && payload.detail) || "The assistant could not answer.");
      }).then(function () {
        if (status) status.remove();
        if (!result) throw new ApiError(500, "The answer was cut off. Please ask again.");
        drawAnswer(answerNode || say("msg assistant", ""), result);
        if (result.handed_off) { handoffNotice(result.handoff_reason); schedulePoll(true); }
      });
    });
  }

  function submit(event) {
    if (event) event.preventDefault();
    var question = input.value.trim();
    if (!question || busy) return;
    busy = true;
    send.disabled = true;
    input.value = "";
    say("msg shopper", question);
    ask(question, false).catch(function (error) {
      log.querySelectorAll(".status").forEach(function (node) { node.remove(); });
      showError(error);
    }).then(function () {
      busy = false;
      send.disabled = false;
      input.focus();
    });
  }

  // --- opening, closing, history -----------------------------------------------------------------------
  function loadHistory() {
    if (loaded) return;
    loaded = true;
    if (!conversationId) { say("status", "Ask about this product, delivery or returns."); return; }
    request("GET", "conversations/" + conversationId + "/").then(json).then(function (conversation) {
      conversation.messages.forEach(function (message) { drawMessage(message, false); });
      if (conversation.status === "handed_off") schedulePoll(true);
      if (conversation.status === "closed") remember(null);
    }).catch(function (error) {
      if (error instanceof ApiError && error.status === 404) remember(null); else showError(error);
    });
  }

  function open() {
    panel.hidden = false;
    launcher.setAttribute("aria-expanded", "true");
    loadHistory();
    input.focus();
  }

  function close() {
    panel.hidden = true;
    launcher.setAttribute("aria-expanded", "false");
    launcher.focus();
  }

  launcher.addEventListener("click", function () { if (panel.hidden) open(); else close(); });
  closeButton.addEventListener("click", close);
  panel.addEventListener("keydown", function (event) { if (event.key === "Escape") close(); });
  form.addEventListener("submit", submit);
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) submit(event);  // Shift+Enter: new line
  });

  function mount() { document.body.appendChild(host); }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
})();
