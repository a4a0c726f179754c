// Accounts (admin portal): search and page through the accounts the caller
// manages; create, suspend, unsuspend, change plan, set password, terminate.
(function () {
  'use strict';
  const { el, api } = HS;
  const PAGE_SIZES = [10, 20, 50, 100];

  function statusOf(a) {
    return a.suspended ? 'suspended' : 'active';
  }

  function matches(a, query) {
    if (!query) return true;
    const haystack = [a.username, a.domain, a.plan, a.owner, a.role, statusOf(a), a.suspend_reason || ''];
    return haystack.some((s) => String(s).toLowerCase().includes(query));
  }

  function statusCell(a) {
    if (!a.suspended) return el('span', { class: 'badge good' }, 'Active');
    return [
      el('span', { class: 'badge bad' }, 'Suspended'),
      a.suspend_reason ? el('span', { class: 'reason' }, ' ' + a.suspend_reason) : null,
    ];
  }

  function createForm(ctx, planOptions) {
    const fields = [
      { name: 'username', label: 'Username', required: true, hint: 'Lowercase letters and digits, starting with a letter; at most 16.' },
      { name: 'domain', label: 'Main domain', required: true, placeholder: 'example.com' },
      { name: 'password', label: 'Password', type: 'password', required: true, autocomplete: 'new-password', hint: 'At least 8 characters of 3 kinds, or 16 of any.' },
      { name: 'plan', label: 'Plan', options: planOptions, value: 'default' },
    ];
    if (ctx.me.role === 'admin') {
      fields.push({ name: 'reseller', label: 'This account is a reseller', type: 'checkbox' });
    }
    return HS.form({
      name: 'create-account',
      submit: 'Create account',
      fields,
      async onsubmit(v, form) {
        const body = { username: v.username.trim(), domain: v.domain.trim(), password: v.password };
        if (v.plan) body.plan = v.plan;
        if (v.reseller) body.reseller = true;
        const made = await api('account/create', body);
        form.reset();
        ctx.notify(HS.okBox('Account ', el('strong', null, made.username), ' created for ', made.domain, '.'));
        ctx.reload();
      },
    });
  }

  // The row's buttons. Each acts on one account, then reloads the list.
  function actions(a, ctx, planOptions) {
    const user = a.username;
    const done = (...text) => {
      ctx.notify(HS.okBox(...text));
      ctx.reload();
    };
    const data = (action) => ({ 'data-action': action, 'data-user': user });

    const suspend = HS.button('Suspend', { ...data('suspend'), 'aria-label': 'Suspend ' + user }, () =>
      HS.dialog({
        name: 'suspend',
        title: 'Suspend ' + user,
        text: 'Its websites show the suspended page and its logins are refused until you unsuspend it.',
        fields: [{ name: 'reason', label: 'Reason (shown to staff)' }],
        submit: 'Suspend',
        danger: true,
        run: async (v) => {
          await api('account/suspend', { username: user, reason: v.reason });
          done('Account ', el('strong', null, user), ' suspended.');
        },
      }),
    );
    const unsuspend = HS.button('Unsuspend', { ...data('unsuspend'), 'aria-label': 'Unsuspend ' + user }, async (event) => {
      const pressed = event.currentTarget;
      pressed.disabled = true;
      try {
        await api('account/unsuspend', { username: user });
        done('Account ', el('strong', null, user), ' is active again.');
      } catch (error) {
        pressed.disabled = false;
        ctx.notify(HS.errorBox(error));
      }
    });
    const plan = HS.button('Plan…', { ...data('plan'), 'aria-label': 'Change the plan of ' + user }, () =>
      HS.dialog({
        name: 'change-plan',
        title: 'Change the plan of ' + user,
        fields: [{ name: 'plan', label: 'Plan', options: planOptions, value: a.plan }],
        submit: 'Change plan',
        run: async (v) => {
          await api('account/change_plan', { username: user, plan: v.plan });
          done('Account ', el('strong', null, user), ' is now on plan ', v.plan, '.');
        },
      }),
    );
    const password = HS.button('Password…', { ...data('password'), 'aria-label': 'Set the password of ' + user }, () =>
      HS.dialog({
        name: 'set-password',
        title: 'Set the password of ' + user,
        text: 'This also ends the account’s sessions.',
        fields: [{ name: 'password', label: 'New password', type: 'password', required: true, autocomplete: 'new-password' }],
        submit: 'Set password',
        run: async (v) => {
          await api('account/set_password', { username: user, password: v.password });
          done('The password of ', el('strong', null, user), ' was changed.');
        },
      }),
    );
    const terminate = HS.button('Terminate…', { ...data('terminate'), class: 'small danger', 'aria-label': 'Terminate ' + user }, () =>
      HS.dialog({
        name: 'terminate',
        title: 'Terminate ' + user,
        text: 'This removes the account, its websites and its home folder. It cannot be undone.',
        fields: [{ name: 'confirm', label: 'Type the username to confirm', required: true }],
        submit: 'Terminate',
        danger: true,
        run: async (v) => {
          if (v.confirm.trim() !== user) throw new Error('The username you typed does not match.');
          await api('account/terminate', { username: user });
          done('Account ', el('strong', null, user), ' was terminated.');
        },
      }),
    );
    const loginAs = HS.button('Log in as', { ...data('login-as'), 'aria-label': 'Open the user portal as ' + user }, async (event) => {
      const pressed = event.currentTarget;
      pressed.disabled = true;
      try {
        const handoff = await api('auth/login_as', { username: user });
        const url = location.protocol + '//' + location.hostname + ':' + handoff.user_port + '/#/handoff?ticket=' + encodeURIComponent(handoff.ticket);
        const open = el('a', { href: url, target: '_blank', rel: 'noopener noreferrer', class: 'button small', 'data-action': 'open-portal' }, 'Open the portal of ' + user);
        ctx.notify(HS.okBox(open, ' (the link works once, within ' + handoff.expires_in + ' s)'));
        open.focus();
      } catch (error) {
        ctx.notify(HS.errorBox(error));
      } finally {
        pressed.disabled = false;
      }
    });
    const link = (page, label) => el('a', { class: 'button small secondary', href: '#/' + page + '?user=' + encodeURIComponent(user) }, label);
    const domains = link('domains', 'Domains');
    return el('div', { class: 'row-actions' }, domains, link('dns', 'DNS'), link('cron', 'Cron'), link('databases', 'Databases'), link('files', 'Files'), a.suspended ? unsuspend : suspend, a.suspended ? null : loginAs, plan, password, terminate);
  }

  async function render(view, ctx) {
    const [data, plans] = await Promise.all([api('account/list'), api('plan/list')]);
    const planOptions = plans.plans.map((p) => ({ value: p.name, label: p.name }));
    const accounts = data.accounts.sort((a, b) => a.username.localeCompare(b.username));
    const state = { query: (ctx.params.get('q') || '').toLowerCase(), page: 1, size: 20 };

    const create = el('details', { class: 'card create' }, el('summary', null, 'Create an account'), createForm(ctx, planOptions));
    if (!accounts.length) create.open = true;

    const search = HS.field({ name: 'q', label: 'Search', type: 'search', value: state.query, placeholder: 'name, domain, plan, owner or status' });
    const size = HS.field({
      name: 'size',
      label: 'Per page',
      options: PAGE_SIZES.map((n) => ({ value: String(n), label: String(n) })),
      value: String(state.size),
    });
    const list = el('div', { class: 'list' });
    const summary = el('p', { class: 'summary', role: 'status' });
    const prev = HS.button('Previous', { class: 'small secondary', 'data-action': 'prev' }, () => {
      state.page -= 1;
      draw();
    });
    const next = HS.button('Next', { class: 'small secondary', 'data-action': 'next' }, () => {
      state.page += 1;
      draw();
    });
    const where = el('span', { class: 'where' });

    function draw() {
      const found = accounts.filter((a) => matches(a, state.query));
      const pages = Math.max(1, Math.ceil(found.length / state.size));
      state.page = Math.min(Math.max(1, state.page), pages);
      const start = (state.page - 1) * state.size;
      const rows = found.slice(start, start + state.size);
      list.replaceChildren(
        HS.table({
          rows,
          key: (a) => a.username,
          class: 'accounts',
          empty: state.query ? 'No account matches your search.' : 'No accounts yet.',
          columns: [
            { label: 'Username', cell: (a) => el('strong', null, a.username) },
            { label: 'Domain', cell: (a) => a.domain },
            { label: 'Plan', cell: (a) => a.plan },
            { label: 'Owner', cell: (a) => (a.role === 'reseller' ? [a.owner, el('span', { class: 'badge' }, 'reseller')] : a.owner) },
            { label: 'Status', cell: statusCell },
            { label: 'Actions', cell: (a) => actions(a, ctx, planOptions), class: 'actions-cell' },
          ],
        }),
      );
      summary.textContent =
        found.length === accounts.length
          ? accounts.length + (accounts.length === 1 ? ' account' : ' accounts')
          : found.length + ' of ' + accounts.length + ' accounts match';
      where.textContent = 'Page ' + state.page + ' of ' + pages;
      prev.disabled = state.page <= 1;
      next.disabled = state.page >= pages;
    }

    search.querySelector('input').addEventListener('input', (event) => {
      state.query = event.target.value.trim().toLowerCase();
      state.page = 1;
      // Kept in the address, so a reload after an action keeps the search.
      ctx.replace('#/accounts' + (state.query ? '?q=' + encodeURIComponent(state.query) : ''));
      draw();
    });
    size.querySelector('select').addEventListener('change', (event) => {
      state.size = Number(event.target.value);
      state.page = 1;
      draw();
    });

    draw();
    view.append(
      create,
      el('div', { class: 'toolbar', role: 'search' }, search, size),
      summary,
      list,
      el('div', { class: 'pager' }, prev, where, next),
    );
  }

  HS.page({ id: 'accounts', title: 'Accounts', order: 10, portals: ['admin'], render });
})();
