// The console's Support page, built only on casesync's HTTP API (/api/v1/).
// The bearer token comes from the URL's fragment (#token=…&account=…&user=…), which browsers never send to a
// server; it is kept in sessionStorage and the fragment is removed from the address bar.
"use strict";
(() => {
  const $ = (selector) => document.querySelector(selector);
  const fragment = new URLSearchParams(location.hash.slice(1));
  for (const name of ["token", "account", "user"]) {
    if (fragment.get(name)) sessionStorage.setItem(`casesync.${name}`, fragment.get(name));
  }
  if (location.hash) history.replaceState(null, "", location.pathname);
  const token = sessionStorage.getItem("casesync.token") || "";
  const accountInput = $("#account");
  const userInput = $("#user");
  accountInput.value = sessionStorage.getItem("casesync.account") || "";
  userInput.value = sessionStorage.getItem("casesync.user") || "";

  class ApiError extends Error {
    constructor(status, body) {
      super(body.message || `HTTP ${status}`);
      this.status = status;
      this.error = body.error || "Error";
    }
  }

  async function api(method, path, body, idempotencyKey) {
    const headers = { Authorization: `Bearer ${token}` };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (idempotencyKey) headers["Idempotency-Key"] = idempotencyKey;
    const response = await fetch(`/api/v1${path}`, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok) {
      let detail = {};
      try { detail = await response.json(); } catch (_) { /* not JSON: keep the status */ }
      throw new ApiError(response.status, detail);
    }
    return response;
  }
  const getJson = async (path) => (await api("GET", path)).json();

  function newKey() {
    if (crypto.randomUUID) return crypto.randomUUID();
    return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
  }

  // A write carries an Idempotency-Key: when the answer is lost (a network error), the retry with the same
  // key returns the first answer instead of writing twice.
  async function write(path, body) {
    const key = newKey();
    try {
      return await (await api("POST", path, body, key)).json();
    } catch (error) {
      if (error instanceof ApiError) throw error;
      return (await api("POST", path, body, key)).json();
    }
  }

  const account = () => `/accounts/${encodeURIComponent(accountInput.value.trim())}`;
  const caseUrl = (id) => `${account()}/cases/${id}`;

  function notice(text, isError = false) {
    const box = $("#notice");
    box.textContent = text;
    box.className = isError ? "error" : "";
    box.hidden = !text;
  }

  function reportError(error) {
    notice(error instanceof ApiError ? `${error.error}: ${error.message}` : `Network error: ${error.message}`, true);
  }

  function show(section) {
    for (const id of ["browse", "submit", "case"]) $(`#${id}`).hidden = id !== section;
    notice("");
  }

  function fileToBase64(file) {
    return new Promise((resolve, reject) => {
      const reader = new FileReader();
      reader.onload = () => resolve(String(reader.result).split(",", 2)[1] || "");
      reader.onerror = () => reject(reader.error);
      reader.readAsDataURL(file);
    });
  }

  async function attachments(input) {
    return Promise.all(Array.from(input.files, async (file) => ({
      filename: file.name,
      content_type: file.type || "application/octet-stream",
      data: await fileToBase64(file),
    })));
  }

  function element(tag, props = {}, ...children) {
    const node = Object.assign(document.createElement(tag), props);
    node.append(...children);
    return node;
  }

  function statusBadge(status) {
    return element("span", { className: `status ${status}`, textContent: status });
  }

  const when = (iso) => new Date(iso).toLocaleString();

  // ---- browsing --------------------------------------------------------------------------------------
  let cursor = null;

  async function loadCases(append = false) {
    const query = new URLSearchParams({ order: $("#order").value, limit: "20" });
    if ($("#status").value) query.set("status", $("#status").value);
    if ($("#query").value.trim()) query.set("query", $("#query").value.trim());
    if ($("#mine").checked && userInput.value.trim()) query.set("requester_id", userInput.value.trim());
    if (append && cursor) query.set("cursor", cursor);
    const page = await getJson(`${account()}/cases?${query}`);
    const body = $("#cases tbody");
    if (!append) body.replaceChildren();
    for (const item of page.cases) {
      const row = element("tr", {},
        element("td", { textContent: `#${item.id}` }),
        element("td", { textContent: item.subject }),
        element("td", {}, statusBadge(item.status)),
        element("td", { textContent: item.updated_at ? when(item.updated_at) : "" }));
      row.dataset.caseId = String(item.id);
      row.addEventListener("click", () => openCase(item.id).catch(reportError));
      body.append(row);
    }
    cursor = page.next_cursor;
    $("#more").hidden = !cursor;
    $("#empty").hidden = body.children.length > 0;
  }

  // ---- one case ----------------------------------------------------------------------------------------
  let current = null;

  async function openCase(id) {
    current = await getJson(caseUrl(id));
    renderCase();
    show("case");
  }

  async function attachmentBlob(caseId, attachmentId) {
    const response = await api("GET", `${caseUrl(caseId)}/attachments/${encodeURIComponent(attachmentId)}`);
    return response.blob();
  }

  // Staff's rich text is already sanitized by casesync (Message.html); it is parsed in an inert template,
  // its inline images ("attachment:<id>") are fetched through the API, and nothing else is loaded.
  function richText(html, caseId) {
    const template = document.createElement("template");
    template.innerHTML = html;
    for (const img of template.content.querySelectorAll("img")) {
      const src = img.getAttribute("src") || "";
      img.removeAttribute("src");
      if (src.startsWith("attachment:")) {
        attachmentBlob(caseId, src.slice("attachment:".length))
          .then((blob) => { img.src = URL.createObjectURL(blob); })
          .catch(() => { img.alt = img.alt || "(image unavailable)"; });
      }
    }
    for (const link of template.content.querySelectorAll("a[href]")) {
      link.target = "_blank";
      link.rel = "noopener noreferrer";
    }
    const box = element("div", { className: "rich" });
    box.append(template.content);
    return box;
  }

  async function download(caseId, ref) {
    const url = URL.createObjectURL(await attachmentBlob(caseId, ref.id));
    const link = element("a", { href: url, download: ref.filename });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  function renderCase() {
    const item = current;
    $("#case-title").textContent = `#${item.id} ${item.subject}`;
    $("#case-status").replaceWith(Object.assign(statusBadge(item.status), { id: "case-status" }));
    const links = [];
    if (item.refers_to) links.push(`continues case #${item.refers_to}`);
    if (item.merged_into) links.push(`merged into case #${item.merged_into}`);
    if (item.closed_by) links.push(`closed by ${item.closed_by}`);
    $("#case-links").textContent = links.join(" · ");
    const list = $("#messages");
    list.replaceChildren();
    for (const message of item.messages) {
      const entry = element("li", { className: message.author },
        element("p", { className: "by", textContent: `${message.author_name} · ${when(message.created_at)}` }));
      entry.append(message.html ? richText(message.html, item.id)
        : element("div", { className: "text", textContent: message.body }));
      const files = message.attachments.filter((ref) => !ref.inline);
      if (files.length) {
        const fileList = element("ul", { className: "files" });
        for (const ref of files) {
          const link = element("a", { href: "#", textContent: `${ref.filename} (${ref.size} bytes)` });
          link.addEventListener("click", (event) => { event.preventDefault(); download(item.id, ref).catch(reportError); });
          fileList.append(element("li", {}, link));
        }
        entry.append(fileList);
      }
      list.append(entry);
    }
    const closed = item.status === "Closed";
    $("#reply-form").hidden = closed;
    $("#close-case").hidden = closed;
    $("#continue-case").hidden = !closed;
  }

  // ---- writing -----------------------------------------------------------------------------------------
  let refersTo = null;

  function startSubmit(continues) {
    refersTo = continues ? continues.id : null;
    const form = $("#submit-form");
    form.reset();
    if (continues) form.subject.value = continues.subject;
    $("#continues").hidden = !continues;
    $("#continues").textContent = continues ? `This new case continues case #${continues.id}.` : "";
    show("submit");
  }

  function user() {
    const id = userInput.value.trim();
    if (!id) throw new Error("enter your user id first");
    return id;
  }

  async function busy(form, action) {
    const buttons = form.querySelectorAll("button");
    buttons.forEach((b) => { b.disabled = true; });
    try { await action(); } catch (error) { reportError(error); } finally { buttons.forEach((b) => { b.disabled = false; }); }
  }

  $("#submit-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.target;
    busy(form, async () => {
      const body = { user_id: user(), subject: form.subject.value, body: form.body.value,
        attachments: await attachments(form.files) };
      if (refersTo) body.refers_to = refersTo;
      current = await write(`${account()}/cases`, body);
      renderCase();
      show("case");
      notice(`Case #${current.id} submitted.`);
    });
  });

  $("#reply-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.target;
    busy(form, async () => {
      current = await write(`${caseUrl(current.id)}/replies`, {
        user_id: user(), body: form.body.value, acknowledges_solution: form.ack.checked,
        attachments: await attachments(form.files),
      });
      form.reset();
      renderCase();
      notice("Reply sent.");
    });
  });

  $("#close-case").addEventListener("click", () => {
    write(`${caseUrl(current.id)}/close`, { user_id: user() })
      .then((closed) => { current = closed; renderCase(); notice(`Case #${closed.id} closed.`); })
      .catch(reportError);
  });

  $("#continue-case").addEventListener("click", () => startSubmit(current));
  $("#new-case").addEventListener("click", () => startSubmit(null));
  for (const back of document.querySelectorAll(".back, .cancel")) {
    back.addEventListener("click", () => { show("browse"); loadCases().catch(reportError); });
  }
  $("#filters").addEventListener("submit", (event) => { event.preventDefault(); loadCases().catch(reportError); });
  for (const id of ["#status", "#order", "#mine"]) $(id).addEventListener("change", () => loadCases().catch(reportError));
  $("#more").addEventListener("click", () => loadCases(true).catch(reportError));
  accountInput.addEventListener("change", () => {
    sessionStorage.setItem("casesync.account", accountInput.value.trim());
    since = 0;
    show("browse");
    loadCases().catch(reportError);
  });
  userInput.addEventListener("change", () => sessionStorage.setItem("casesync.user", userInput.value.trim()));

  // ---- news from staff: the change feed, long-polled -------------------------------------------------
  let since = 0;

  async function latestSeq() {
    let last = 0;
    for (;;) {
      const query = new URLSearchParams({ account_id: accountInput.value.trim(), since: String(last), limit: "500" });
      const { changes } = await getJson(`/changes?${query}`);
      if (!changes.length) return last;
      last = changes[changes.length - 1].seq;
    }
  }

  async function follow() {
    since = await latestSeq();
    for (;;) {
      try {
        const query = new URLSearchParams({ account_id: accountInput.value.trim(), since: String(since), wait: "25" });
        const { changes } = await getJson(`/changes?${query}`);
        if (!changes.length) continue;
        since = changes[changes.length - 1].seq;
        if (current && !$("#case").hidden && changes.some((change) => change.case_id === current.id)) {
          current = await getJson(caseUrl(current.id));
          renderCase();
        }
        if (!$("#browse").hidden) await loadCases();
      } catch (_) {
        await new Promise((resolve) => { setTimeout(resolve, 3000); });
      }
    }
  }

  if (!token) {
    notice("No API token: open the Support page through the link that `casesync demo --web` prints.", true);
    return;
  }
  show("browse");
  loadCases().catch(reportError);
  follow();
})();
