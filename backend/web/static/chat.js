// Web chat: talks to the Rasa-compatible REST webhook; every message carries a unique id so a
// retried request is never handled twice. What staff send later (status updates, the answer
// with its rating buttons) is fetched from /chat/updates every few seconds; the last update
// shown is remembered beside the sender id, so a reload does not show it again.
(function () {
  "use strict";
  const POLL_MS = 4000;
  const log = document.getElementById("log");
  const form = document.getElementById("composer");
  const input = document.getElementById("text");
  const sender = localStorage.getItem("paht-sender") || ("web-" + crypto.randomUUID());
  localStorage.setItem("paht-sender", sender);
  let after = Number(localStorage.getItem("paht-after")) || 0;

  function bubble(text, who) {
    const div = document.createElement("div");
    div.className = "msg " + who;
    div.textContent = text;
    log.appendChild(div);
    log.scrollTop = log.scrollHeight;
    return div;
  }

  function buttons(list) {
    const row = document.createElement("div");
    row.className = "buttons";
    list.forEach(function (b) {
      const btn = document.createElement("button");
      btn.type = "button";
      btn.textContent = b.title;
      btn.addEventListener("click", function () { send(b.payload, b.title); });
      row.appendChild(btn);
    });
    log.appendChild(row);
    log.scrollTop = log.scrollHeight;
  }

  // One bot message, as the webhook and /chat/updates render it: text, image, buttons.
  function showReply(r, who) {
    if (r.text) { bubble(r.text, who); }
    if (r.image) { const d = bubble("", who); const i = new Image(); i.src = r.image; d.appendChild(i); }
    if (r.buttons && r.buttons.length) { buttons(r.buttons); }
  }

  async function send(message, shown, metadata) {
    if (shown) { bubble(shown, "me"); }
    const body = { sender: sender, message: message, message_id: crypto.randomUUID() };
    if (metadata) { body.metadata = metadata; }
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const res = await fetch("/webhooks/rest/webhook", {
          method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body)
        });
        if (!res.ok) {
          const err = await res.json().catch(function () { return {}; });
          bubble("Không gửi được: " + (typeof err.detail === "string" ? err.detail : "dữ liệu không hợp lệ"), "error");
          return;
        }
        (await res.json()).forEach(function (r) { showReply(r, "bot"); });
        poll();
        return;
      } catch (e) {
        await new Promise(function (ok) { setTimeout(ok, 1000 * (attempt + 1)); });
      }
    }
    bubble("Mất kết nối. Vui lòng thử lại sau.", "error");
  }

  // Updates from staff. One request at a time; `after` only moves once they are shown.
  let polling = null;
  function poll() {
    if (polling) { return polling; }
    const url = "/chat/updates?sender=" + encodeURIComponent(sender) + "&after=" + after;
    polling = fetch(url)
      .then(function (res) { return res.ok ? res.json() : []; })
      .then(function (updates) {
        updates.forEach(function (u) {
          showReply(u, "bot push");
          after = Math.max(after, u.id);
        });
        localStorage.setItem("paht-after", String(after));
      })
      .catch(function () { /* offline for now: the next round asks again */ })
      .finally(function () { polling = null; });
    return polling;
  }
  setInterval(poll, POLL_MS);

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    const text = input.value.trim();
    if (!text) { return; }
    input.value = "";
    send(text, text);
  });

  document.getElementById("locate").addEventListener("click", function () {
    if (!navigator.geolocation) { bubble("Trình duyệt không hỗ trợ định vị.", "error"); return; }
    navigator.geolocation.getCurrentPosition(function (p) {
      const loc = { lat: p.coords.latitude, lon: p.coords.longitude };
      send("/share_location" + JSON.stringify(loc), "📍 Vị trí của tôi");
    }, function () { bubble("Không lấy được vị trí. Bạn hãy nhập địa chỉ.", "error"); });
  });

  document.getElementById("photo").addEventListener("change", async function (ev) {
    const file = ev.target.files[0];
    if (!file) { return; }
    const data = new FormData();
    data.append("file", file);
    const res = await fetch("/chat/media", { method: "POST", body: data });
    const out = await res.json().catch(function () { return {}; });
    if (!res.ok) { bubble("Không gửi được ảnh: " + (out.detail || ""), "error"); return; }
    const d = bubble("", "me"); const i = new Image(); i.src = out.url; d.appendChild(i);
    send("", null, { media: [{ kind: out.kind, url: out.url }] });
    ev.target.value = "";
  });

  send("xin chào", null);
})();
