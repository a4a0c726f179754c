// HS-Panel UI core: API calls, an element builder, the router and menu, forms,
// dialogs and notices. Each page is a script of its own (assets/pages/*.js) that
// registers itself with HS.page({...}); this file knows no page.
//
// Rules every page follows:
// - data becomes text nodes or attribute values (HS.el), never markup;
// - the session is an HttpOnly cookie the browser sends; no token is kept here;
// - a failure shows the API's message and the operation id (HS.errorBox).
(function () {
  'use strict';

  const pages = [];
  const state = { me: null, renderSeq: 0 };
  let fieldSeq = 0;

  // ---- API ---------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, code, message, op) {
      super(message);
      this.status = status;
      this.code = code;
      this.op = op;
    }
  }

  // POSTs `body` as JSON to /api/{action}. Same-origin fetches carry the session
  // cookie and an Origin header, which the server checks on every POST.
  async function api(action, body) {
    let response;
    try {
      response = await fetch('/api/' + action, {
        method: 'POST',
        credentials: 'same-origin',
        cache: 'no-store',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify(body || {}),
      });
    } catch (e) {
      throw new ApiError(0, 'network', 'The panel did not answer; check the connection.', null);
    }
    const op = response.headers.get('X-Operation-Id');
    let data = null;
    try {
      data = await response.json();
    } catch (e) {
      data = null;
    }
    if (response.ok) return data;

    const error = (data && data.error) || {};
    const failure = new ApiError(
      response.status,
      error.code || 'http_' + response.status,
      error.message || 'The panel answered with status ' + response.status + '.',
      error.operation_id || op,
    );
    if (response.status === 401 && state.me && action !== 'auth/login') {
      showLogin('Your session has ended; please log in again.');
    }
    throw failure;
  }

  // ---- Elements ----------------------------------------------------------

  // Only http(s) links and in-page routes: never javascript: or data: URLs.
  function safeHref(value) {
    return /^(https?:\/\/|#\/|\/)/i.test(String(value));
  }

  // el('a', { href: '#/x', class: 'c', onclick: fn }, 'text', child, [more])
  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const key of Object.keys(props || {})) {
      const value = props[key];
      if (value === undefined || value === null || value === false) continue;
      if (key.startsWith('on')) {
        if (typeof value === 'function') node.addEventListener(key.slice(2), value);
      } else if (key === 'class') {
        node.className = value;
      } else if (key === 'style') {
        continue; // the CSP forbids inline style: use a class
      } else if (key === 'href' && !safeHref(value)) {
        continue;
      } else {
        node.setAttribute(key, value === true ? '' : String(value));
      }
    }
    return append(node, children);
  }

  function append(node, children) {
    for (const child of [children].flat(Infinity)) {
      if (child === undefined || child === null || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function byId(id) {
    return document.getElementById(id);
  }

  // ---- Notices -----------------------------------------------------------

  // The API's message and the operation id to quote to an administrator.
  function errorBox(error) {
    const message = (error && error.message) || String(error);
    const op = error && error.op;
    return el(
      'div',
      { class: 'notice error', role: 'alert' },
      el('strong', null, 'Error: '),
      el('span', { class: 'message' }, message),
      op ? el('span', { class: 'op' }, ' Operation id: ', el('code', null, op)) : null,
    );
  }

  function okBox(...content) {
    return el('div', { class: 'notice ok', role: 'status' }, content);
  }

  // ---- Helpers shared by the module pages ------------------------------------

  // A size in bytes for people: 512 B, 1.5 KiB, 20 MiB.
  function bytes(n) {
    if (n < 1024) return n + ' B';
    const units = ['KiB', 'MiB', 'GiB', 'TiB'];
    let value = n / 1024;
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) {
      value /= 1024;
      unit++;
    }
    return value.toFixed(value < 10 ? 1 : 0) + ' ' + units[unit];
  }

  // The account a page acts on: the caller's own on the user port (the API
  // knows it), the one in the address (#/page?user=NAME) on the admin port.
  function accountScope(ctx) {
    if (ctx.me.portal !== 'admin') return {};
    return { username: ctx.params.get('user') };
  }

  // The admin's choice of account for the current per-account page.
  function accountPicker(ctx, accounts, current) {
    const page = parseHash().id;
    const options = [{ value: '', label: 'Choose an account' }].concat(
      accounts.map((a) => ({ value: a.username, label: a.username + ' (' + a.domain + ')' })),
    );
    return form({
      name: 'pick-account',
      submit: 'Show',
      fields: [{ name: 'user', label: 'Account', options, value: current || '' }],
      async onsubmit(v) {
        if (v.user) ctx.go('#/' + page + '?user=' + encodeURIComponent(v.user));
      },
    });
  }

  // A notice that follows an hs-taskd job live (server-sent events): a
  // progress bar and the job's message, then its outcome. `onDone(status)`
  // runs once the job has finished, whatever the outcome.
  function jobNotice(job, what, onDone) {
    const bar = el('progress', { max: '100', value: String(job.percent || 0) });
    const message = el('span', { class: 'message' }, job.message || 'queued');
    const box = el('div', { class: 'notice job', role: 'status', 'data-job': job.id },
      el('strong', null, what + ': '), bar, ' ', message);
    const source = new EventSource('/api/task/events?id=' + encodeURIComponent(job.id));
    const show = (event) => {
      let status;
      try {
        status = JSON.parse(event.data);
      } catch (e) {
        return null; // the next event carries the whole status
      }
      bar.value = status.percent;
      message.textContent = status.message;
      return status;
    };
    source.addEventListener('progress', show);
    source.addEventListener('done', (event) => {
      source.close();
      const status = show(event);
      if (!status) return;
      box.dataset.state = status.state;
      box.classList.add(status.state === 'succeeded' ? 'ok' : 'error');
      message.textContent = status.state === 'succeeded' ? 'done.' : status.state + ': ' + status.message;
      onDone(status);
    });
    source.addEventListener('error', () => source.close());
    return box;
  }

  // Shows one notice at the top of the current page, replacing the last one.
  function notify(ctx, box) {
    const dismiss = el('button', { type: 'button', class: 'dismiss', 'aria-label': 'Dismiss' }, '×');
    dismiss.addEventListener('click', () => box.remove());
    box.append(dismiss);
    ctx.notices.replaceChildren(box);
  }

  // ---- Forms -------------------------------------------------------------

  // One labelled control. spec: { name, label, type ('textarea' too), value,
  // required, hint, options: [{ value, label }], placeholder, autocomplete, min,
  // max, inputmode, rows, wrap, readonly }.
  function field(spec) {
    const id = 'f' + ++fieldSeq;
    const hintId = spec.hint ? id + '-hint' : null;
    const common = {
      id,
      name: spec.name,
      required: spec.required,
      'aria-describedby': hintId,
    };
    let control;
    if (spec.options) {
      const options = spec.options.map((o) =>
        el('option', { value: o.value, selected: o.value === spec.value }, o.label),
      );
      control = el('select', common, options);
    } else if (spec.type === 'textarea') {
      // The value becomes the text node inside: the textarea's default value.
      control = el(
        'textarea',
        { ...common, rows: spec.rows || 8, readonly: spec.readonly, wrap: spec.wrap, placeholder: spec.placeholder, spellcheck: 'false', autocapitalize: 'off', class: 'mono' },
        spec.value,
      );
    } else if (spec.type === 'checkbox') {
      control = el('input', { ...common, type: 'checkbox', checked: !!spec.value });
      return el(
        'div',
        { class: 'field check' },
        control,
        el('label', { for: id }, spec.label),
        hintId ? el('small', { id: hintId, class: 'hint' }, spec.hint) : null,
      );
    } else {
      control = el('input', {
        ...common,
        type: spec.type || 'text',
        value: spec.value,
        placeholder: spec.placeholder,
        autocomplete: spec.autocomplete || 'off',
        inputmode: spec.inputmode,
        min: spec.min,
        max: spec.max,
        readonly: spec.readonly,
        spellcheck: 'false',
        autocapitalize: 'off',
      });
    }
    return el(
      'div',
      { class: 'field' },
      el('label', { for: id }, spec.label),
      control,
      hintId ? el('small', { id: hintId, class: 'hint' }, spec.hint) : null,
    );
  }

  // A form whose submit runs `onsubmit(values)`; a failure is shown inside the
  // form, so what was typed stays. spec: { name, fields, submit, danger,
  // onsubmit, extra, grid (fields side by side) }.
  function form(spec) {
    const status = el('div', { class: 'form-status' });
    const button = el('button', { type: 'submit', class: spec.danger ? 'danger' : 'primary' }, spec.submit);
    const node = el(
      'form',
      { class: spec.grid ? 'form grid' : 'form', 'data-form': spec.name, novalidate: spec.novalidate },
      spec.fields.filter(Boolean).map((f) => (f instanceof Node ? f : field(f))),
      status,
      el('div', { class: 'actions' }, button, spec.extra),
    );
    node.addEventListener('submit', async (event) => {
      event.preventDefault();
      const values = {};
      for (const input of node.querySelectorAll('input, select, textarea')) {
        if (!input.name) continue;
        values[input.name] = input.type === 'checkbox' ? input.checked : input.value;
      }
      status.replaceChildren();
      button.disabled = true;
      node.setAttribute('aria-busy', 'true');
      try {
        await spec.onsubmit(values, node);
      } catch (error) {
        if (!node.isConnected) return; // the session ended and the page went with it
        status.replaceChildren(errorBox(error));
      } finally {
        button.disabled = false;
        node.removeAttribute('aria-busy');
      }
    });
    return node;
  }

  // A modal dialog holding a form. Resolves with run()'s result, or null when
  // cancelled. spec: { title, text, fields, submit, danger, run }.
  function dialog(spec) {
    return new Promise((resolve) => {
      const titleId = 'd' + ++fieldSeq;
      const cancel = el('button', { type: 'button', class: 'secondary' }, 'Cancel');
      const box = el('dialog', { class: 'dialog', 'aria-labelledby': titleId });
      const body = form({
        name: spec.name,
        fields: spec.fields || [],
        submit: spec.submit,
        danger: spec.danger,
        extra: cancel,
        async onsubmit(values) {
          const result = await spec.run(values);
          resolve(result === undefined ? true : result);
          box.close();
        },
      });
      append(box, [el('h2', { id: titleId }, spec.title), spec.text ? el('p', null, spec.text) : null, body]);
      cancel.addEventListener('click', () => box.close());
      box.addEventListener('close', () => {
        box.remove();
        resolve(null);
      });
      document.body.append(box);
      box.showModal();
      const first = box.querySelector('input, select');
      if (first) first.focus();
    });
  }

  // ---- Tables ------------------------------------------------------------

  // columns: [{ label, cell(row) -> node or text, class }]
  function table(spec) {
    if (!spec.rows.length) return el('p', { class: 'empty' }, spec.empty || 'Nothing here yet.');
    const head = el('tr', null, spec.columns.map((c) => el('th', { scope: 'col', class: c.class }, c.label)));
    const rows = spec.rows.map((row) =>
      el('tr', { 'data-key': spec.key ? spec.key(row) : null }, spec.columns.map((c) => el('td', { class: c.class, 'data-label': c.label }, c.cell(row)))),
    );
    return el(
      'div',
      { class: 'table-wrap' },
      el('table', { class: spec.class }, spec.caption ? el('caption', null, spec.caption) : null, el('thead', null, head), el('tbody', null, rows)),
    );
  }

  function button(label, props, onclick) {
    const node = el('button', { type: 'button', class: 'small', ...props }, label);
    node.addEventListener('click', onclick);
    return node;
  }

  function card(title, ...content) {
    return el('section', { class: 'card' }, el('h2', null, title), content);
  }

  function when(seconds) {
    if (seconds === null || seconds === undefined) return 'never';
    const date = typeof seconds === 'number' ? new Date(seconds * 1000) : new Date(seconds);
    if (isNaN(date.getTime())) return String(seconds);
    return date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
  }

  // ---- Pages, menu and router --------------------------------------------

  // Registers a page. spec: { id, title, order, portals: ['admin', 'user'],
  // roles (default: all), hidden (routable, not in the menu), render(view, ctx) }.
  function page(spec) {
    pages.push(spec);
    pages.sort((a, b) => (a.order || 0) - (b.order || 0));
  }

  function visible(spec) {
    const me = state.me;
    return spec.portals.includes(me.portal) && (!spec.roles || spec.roles.includes(me.role));
  }

  function parseHash() {
    const hash = location.hash.replace(/^#\/?/, '');
    const cut = hash.indexOf('?');
    const id = cut < 0 ? hash : hash.slice(0, cut);
    const params = new URLSearchParams(cut < 0 ? '' : hash.slice(cut + 1));
    let name = id;
    try {
      name = decodeURIComponent(id);
    } catch (e) {
      // a malformed escape: show the name as it was typed
    }
    return { id: name || 'dashboard', params };
  }

  function drawChrome() {
    const me = state.me;
    const portal = me.portal === 'admin' ? 'Administration' : 'Hosting';
    byId('portal').textContent = portal;
    byId('who-name').textContent = me.username + ' (' + me.role + ')';
    byId('who').hidden = false;
    byId('menu-toggle').hidden = false;
    const items = pages.filter((p) => visible(p) && !p.hidden).map((p) =>
      el('li', null, el('a', { href: '#/' + p.id, 'data-page': p.id }, p.title)),
    );
    byId('menu').replaceChildren(...items);
    byId('nav').hidden = false;
    pluginMenu();
  }

  // Plugins' menu entries for this portal and role, from the API; each opens
  // the plugin page (pages/plugins.js) on its route. Labels are text nodes.
  async function pluginMenu() {
    let entries = [];
    try {
      entries = (await api('plugin/menu')).menu || [];
    } catch (error) {
      return; // the menu works without plugins
    }
    if (!state.me) return;
    const items = entries.map((m) => {
      const hash =
        '#/plugin?name=' + encodeURIComponent(m.plugin) + '&route=' + encodeURIComponent(m.route);
      return el(
        'li',
        { class: 'plugin-entry' },
        el('a', { href: hash, 'data-page': 'plugin', 'data-plugin': m.plugin + '/' + m.route }, m.label),
      );
    });
    byId('menu').append(...items);
  }

  function markMenu(id) {
    for (const link of byId('menu').querySelectorAll('a')) {
      if (link.dataset.page === id) link.setAttribute('aria-current', 'page');
      else link.removeAttribute('aria-current');
    }
  }

  // Renders the page the hash names. Its data requests start together, so the
  // first content needs one round trip.
  async function route(moveFocus) {
    if (!state.me) return;
    const { id, params } = parseHash();
    const spec = pages.find((p) => p.id === id && visible(p));
    markMenu(id);
    closeMenu();
    const seq = ++state.renderSeq;
    const heading = el('h1', { tabindex: '-1' }, spec ? spec.title : 'Not found');
    const notices = el('div', { class: 'notices', 'aria-live': 'polite' });
    const view = el('div', { class: 'view' });
    byId('main').replaceChildren(heading, notices, view);
    document.title = (spec ? spec.title : 'Not found') + ' · HS-Panel';
    if (moveFocus) heading.focus();
    if (!spec) {
      append(view, el('p', null, 'There is no page called ', el('code', null, id), ' here.'));
      return;
    }
    const ctx = {
      me: state.me,
      params,
      notices,
      notify: (box) => notify(ctx, box),
      reload: () => draw(spec, view, ctx, seq),
      go: (hash) => {
        location.hash = hash;
      },
      // Changes the address without a new page (keeps the notices).
      replace: (hash) => {
        history.replaceState(null, '', hash);
        ctx.params = parseHash().params;
      },
    };
    await draw(spec, view, ctx, seq);
  }

  async function draw(spec, view, ctx, seq) {
    const fresh = el('div', { class: 'view', 'aria-busy': 'true' }, el('p', { class: 'loading' }, 'Loading…'));
    const hadFocus = view.contains(document.activeElement);
    view.replaceWith(fresh);
    ctx.reload = () => draw(spec, fresh, ctx, seq);
    const body = el('div', { class: 'body' });
    try {
      await spec.render(body, ctx);
      if (seq !== state.renderSeq) return;
      fresh.replaceChildren(body);
    } catch (error) {
      if (seq !== state.renderSeq || !state.me) return;
      fresh.replaceChildren(errorBox(error));
    } finally {
      fresh.removeAttribute('aria-busy');
    }
    if (hadFocus) ctx.notices.parentNode.querySelector('h1').focus();
  }

  // ---- Session -----------------------------------------------------------

  function showLogin(message) {
    state.me = null;
    state.renderSeq++;
    for (const open of document.querySelectorAll('dialog[open]')) open.close();
    byId('who').hidden = true;
    byId('nav').hidden = true;
    byId('menu-toggle').hidden = true;
    byId('portal').textContent = '';
    document.title = 'Log in · HS-Panel';
    const login = form({
      name: 'login',
      submit: 'Log in',
      fields: [
        { name: 'username', label: 'Username', required: true, autocomplete: 'username' },
        { name: 'password', label: 'Password', type: 'password', required: true, autocomplete: 'current-password' },
      ],
      async onsubmit(values) {
        // The answer also sets the session cookie; its token is not kept.
        await api('auth/login', { username: values.username, password: values.password });
        await start(true);
      },
    });
    const box = el(
      'section',
      { class: 'login card' },
      el('h1', { tabindex: '-1' }, 'Log in'),
      message ? el('div', { class: 'notice info', role: 'status' }, message) : null,
      login,
    );
    byId('main').replaceChildren(box);
    const first = login.querySelector('input');
    if (first) first.focus();
  }

  // "Log in as the user": the admin portal opened this portal at
  // #/handoff?ticket=…; the ticket becomes a session and leaves the address.
  async function redeemHandoff() {
    const { id, params } = parseHash();
    if (id !== 'handoff') return null;
    history.replaceState(null, '', '#/dashboard');
    try {
      const session = await api('auth/handoff', { ticket: params.get('ticket') || '' });
      return 'You are logged in as ' + session.username + ', on behalf of ' + session.issued_by + '.';
    } catch (error) {
      showLogin(error.message);
      return false;
    }
  }

  async function start(moveFocus) {
    const handedOff = await redeemHandoff();
    if (handedOff === false) return;
    try {
      state.me = await api('auth/whoami');
    } catch (error) {
      if (error.status === 401) return showLogin();
      byId('main').replaceChildren(errorBox(error));
      return;
    }
    drawChrome();
    await route(moveFocus);
    if (handedOff) {
      const notices = byId('main').querySelector('.notices');
      if (notices) notices.replaceChildren(el('div', { class: 'notice info', role: 'status' }, handedOff));
    }
  }

  async function logout() {
    try {
      await api('auth/logout');
    } catch (error) {
      if (error.status !== 401) {
        byId('main').prepend(errorBox(error));
        return;
      }
    }
    showLogin('You have logged out.');
  }

  // Ends the page's session view after the server ended every session
  // (a password change does that).
  function loggedOut(message) {
    showLogin(message);
  }

  // ---- Phone-width menu --------------------------------------------------

  function closeMenu() {
    byId('nav').classList.remove('open');
    byId('menu-toggle').setAttribute('aria-expanded', 'false');
  }

  function toggleMenu() {
    const open = byId('nav').classList.toggle('open');
    byId('menu-toggle').setAttribute('aria-expanded', String(open));
    if (open) {
      const first = byId('menu').querySelector('a');
      if (first) first.focus();
    }
  }

  function boot() {
    byId('logout').addEventListener('click', logout);
    byId('menu-toggle').addEventListener('click', toggleMenu);
    document.addEventListener('keydown', (event) => {
      if (event.key === 'Escape' && byId('nav').classList.contains('open')) {
        closeMenu();
        byId('menu-toggle').focus();
      }
    });
    window.addEventListener('hashchange', () => {
      // "#main" is the skip link, not a page.
      if (parseHash().id === 'handoff') start(true);
      else if (location.hash === '' || location.hash.startsWith('#/')) route(true);
    });
    start(false);
  }

  window.HS = Object.freeze({
    api,
    ApiError,
    el,
    append,
    field,
    form,
    dialog,
    table,
    button,
    card,
    when,
    errorBox,
    okBox,
    jobNotice,
    bytes,
    accountScope,
    accountPicker,
    page,
    loggedOut,
  });

  document.addEventListener('DOMContentLoaded', boot);
})();
