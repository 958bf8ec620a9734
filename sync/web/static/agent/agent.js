// A minimal agent view of the Zendesk sandbox: every call is an ordinary Zendesk API request, sent to
// /demo/zendesk/api/v2/… which the demo forwards to the sandbox with the agent's credentials.
"use strict";
(() => {
  const $ = (selector) => document.querySelector(selector);
  let me = null;
  let ticket = null;

  async function zendesk(method, path, body) {
    const response = await fetch(`/demo/zendesk/api/v2/${path}`, {
      method,
      headers: body === undefined ? {} : { "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      const detail = data.description || data.error || `HTTP ${response.status}`;
      throw new Error(typeof detail === "string" ? detail : JSON.stringify(detail));
    }
    return data;
  }

  function notice(text, isError = false) {
    const box = $("#notice");
    box.textContent = text;
    box.className = isError ? "error" : "";
    box.hidden = !text;
  }
  const fail = (error) => notice(error.message, true);

  function element(tag, props = {}, ...children) {
    const node = Object.assign(document.createElement(tag), props);
    node.append(...children);
    return node;
  }

  const names = new Map();
  async function nameOf(userId) {
    if (!userId) return "";
    if (!names.has(userId)) names.set(userId, zendesk("GET", `users/${userId}.json`).then((d) => d.user.name));
    return names.get(userId);
  }

  async function loadTickets() {
    const { tickets } = await zendesk("GET", "tickets.json?sort_by=id&sort_order=desc");
    const body = $("#tickets tbody");
    body.replaceChildren();
    for (const item of tickets) {
      const row = element("tr", {},
        element("td", { textContent: `#${item.id}` }),
        element("td", { textContent: item.subject || "" }),
        element("td", { textContent: item.status }),
        element("td", { textContent: await nameOf(item.requester_id) }));
      row.dataset.ticketId = String(item.id);
      row.addEventListener("click", () => openTicket(item.id).catch(fail));
      body.append(row);
    }
  }

  async function openTicket(id) {
    ticket = (await zendesk("GET", `tickets/${id}.json`)).ticket;
    const { comments } = await zendesk("GET", `tickets/${id}/comments.json`);
    $("#ticket-title").textContent = `#${ticket.id} ${ticket.subject || ""}`;
    $("#ticket-status").textContent = ticket.status;
    const list = $("#comments");
    list.replaceChildren();
    for (const comment of comments) {
      const label = comment.public ? "public" : "internal note";
      list.append(element("li", { className: comment.public ? "public" : "internal" },
        element("p", { className: "by", textContent: `${await nameOf(comment.author_id)} · ${label} · ${new Date(comment.created_at).toLocaleString()}` }),
        document.createTextNode(comment.body || ""),
        element("p", { className: "by", textContent: (comment.attachments || []).map((a) => `📎 ${a.file_name}`).join("  ") })));
    }
    $("#tickets-section").hidden = true;
    $("#ticket").hidden = false;
    notice("");
  }

  // An upload (POST /api/v2/uploads?filename=, the raw file as body) gives a token for the comment and the
  // file's content_url; an HTML comment that shows that URL in an <img> makes it an inline image.
  async function upload(file) {
    const response = await fetch(`/demo/zendesk/api/v2/uploads.json?filename=${encodeURIComponent(file.name)}`, {
      method: "POST", headers: { "Content-Type": file.type || "application/octet-stream" }, body: file,
    });
    if (!response.ok) throw new Error(`the upload failed (HTTP ${response.status})`);
    return (await response.json()).upload;
  }

  function imageTag(url, name) {
    const img = document.createElement("img");
    img.setAttribute("src", url);
    img.setAttribute("alt", name);
    return `<p>${img.outerHTML}</p>`;
  }

  async function comment(form) {
    const html = form.html.checked;
    const entry = { public: form.visibility.value === "public" };
    let text = form.body.value;
    const file = form.image.files[0];
    if (file) {
      const uploaded = await upload(file);
      entry.uploads = [uploaded.token];
      if (html) text += imageTag(uploaded.attachment.content_url, file.name);
    }
    entry[html ? "html_body" : "body"] = text;
    const update = { comment: entry };
    if (form.status.value) update.status = form.status.value;
    if (!ticket.assignee_id && me) update.assignee_id = me.id;  // Zendesk solves only assigned tickets
    await zendesk("PUT", `tickets/${ticket.id}.json`, { ticket: update });
  }

  $("#comment-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.target;
    comment(form)
      .then(() => { form.reset(); return openTicket(ticket.id); })
      .then(() => notice("Saved; casesync brings it to the console within a few seconds."))
      .catch(fail);
  });

  $("#refresh").addEventListener("click", () => loadTickets().catch(fail));
  $(".back").addEventListener("click", () => {
    $("#ticket").hidden = true;
    $("#tickets-section").hidden = false;
    loadTickets().catch(fail);
  });

  zendesk("GET", "users/me.json")
    .then((data) => { me = data.user; $("#me").textContent = `signed in as ${me.name}`; })
    .then(loadTickets)
    .catch(fail);
})();
