// Dashboard. Staff see their accounts at a glance; an account holder sees what
// the account uses against its plan's limits.
(function () {
  'use strict';
  const { el, api } = HS;

  function tile(label, value, href) {
    const number = el('span', { class: 'value' }, value);
    const body = [number, el('span', { class: 'label' }, label)];
    const node = href ? el('a', { class: 'tile', href }, body) : el('div', { class: 'tile' }, body);
    node.set = (v) => {
      number.textContent = String(v);
    };
    return node;
  }

  // Totals need one domain/list per account; they fill in after the first content.
  // FIXME: a server-side summary action should count domains once there are many
  // accounts; until then the tile counts up to MAX_COUNTED accounts.
  const MAX_COUNTED = 40;

  async function countDomains(accounts, into) {
    if (accounts.length > MAX_COUNTED) {
      into.set('—');
      into.title = 'Too many accounts to count here; see each account';
      return;
    }
    let total = 0;
    for (let i = 0; i < accounts.length; i += 8) {
      const batch = accounts.slice(i, i + 8).map((a) => api('domain/list', { username: a.username }));
      for (const reply of await Promise.all(batch)) total += reply.domains.length;
    }
    into.set(total);
  }

  async function staff(view, ctx) {
    const [accounts, plans] = await Promise.all([api('account/list'), api('plan/list')]);
    const list = accounts.accounts;
    const domains = tile('Domains', '…');
    const suspended = list.filter((a) => a.suspended).length;
    const resellers = list.filter((a) => a.role === 'reseller').length;
    view.append(
      el(
        'div',
        { class: 'tiles' },
        tile('Accounts', list.length, '#/accounts'),
        tile('Suspended', suspended, suspended ? '#/accounts?q=suspended' : null),
        domains,
        ctx.me.role === 'admin' ? tile('Resellers', resellers) : null,
        tile('Plans', plans.plans.length, '#/plans'),
      ),
    );

    const recent = [...list].sort((a, b) => String(b.created).localeCompare(String(a.created))).slice(0, 8);
    view.append(
      HS.card(
        'Newest accounts',
        HS.table({
          rows: recent,
          empty: 'No accounts yet.',
          columns: [
            { label: 'Username', cell: (a) => a.username },
            { label: 'Domain', cell: (a) => a.domain },
            { label: 'Plan', cell: (a) => a.plan },
            { label: 'Status', cell: (a) => (a.suspended ? el('span', { class: 'badge bad' }, 'Suspended') : el('span', { class: 'badge good' }, 'Active')) },
            { label: 'Created', cell: (a) => HS.when(a.created) },
          ],
        }),
      ),
    );
    countDomains(list, domains).catch((error) => {
      domains.set('?');
      ctx.notify(HS.errorBox(error));
    });
  }

  function usage(label, used, limit) {
    const id = 'u-' + label.replace(/\W+/g, '-').toLowerCase();
    const unlimited = limit === null || limit === undefined;
    const text = unlimited ? used + ' used (unlimited)' : used + ' of ' + limit + ' used';
    const meter = unlimited
      ? el('span')
      : el('meter', { id, min: 0, max: Math.max(limit, 1), value: used, low: limit * 0.8, high: limit * 0.95, optimum: 0 });
    return el(
      'div',
      { class: 'usage' },
      el('label', { for: unlimited ? null : id }, label),
      meter,
      el('span', { class: 'amount' }, text),
    );
  }

  function limitText(value, unit) {
    return value === null || value === undefined ? 'unlimited' : value + (unit ? ' ' + unit : '');
  }

  async function holder(view) {
    const [account, domains, plan] = await Promise.all([
      api('account/show'),
      api('domain/list'),
      api('plan/of_account'),
    ]);
    const limits = plan.plan.limits;
    const count = (type) => domains.domains.filter((d) => d.type === type).length;

    const status = account.suspended
      ? el('span', { class: 'badge bad' }, 'Suspended')
      : el('span', { class: 'badge good' }, 'Active');
    view.append(
      HS.card(
        'Your account',
        el(
          'dl',
          { class: 'facts' },
          el('dt', null, 'Username'),
          el('dd', null, account.username),
          el('dt', null, 'Main domain'),
          el('dd', null, account.domain),
          el('dt', null, 'Plan'),
          el('dd', null, account.plan),
          el('dt', null, 'Status'),
          el('dd', null, status, account.suspend_reason ? ' ' + account.suspend_reason : null),
        ),
      ),
      HS.card(
        'Usage',
        usage('Addon domains', count('addon'), limits.addon_domains),
        usage('Subdomains', count('sub'), limits.subdomains),
        usage('Parked domains', count('parked'), limits.parked_domains),
        el('p', null, el('a', { href: '#/domains' }, 'Manage domains')),
      ),
      HS.card(
        'Plan limits',
        el(
          'dl',
          { class: 'facts' },
          el('dt', null, 'Disk space'),
          el('dd', null, limitText(limits.disk_mb, 'MB')),
          el('dt', null, 'Bandwidth'),
          el('dd', null, limitText(limits.bandwidth_mb, 'MB a month')),
          el('dt', null, 'Mailboxes'),
          el('dd', null, limitText(limits.mailboxes)),
          el('dt', null, 'Forwarders'),
          el('dd', null, limitText(limits.forwarders)),
          el('dt', null, 'Databases'),
          el('dd', null, limitText(limits.databases)),
          el('dt', null, 'Cron jobs'),
          el('dd', null, limitText(limits.cron_jobs)),
        ),
      ),
    );
  }

  HS.page({
    id: 'dashboard',
    title: 'Dashboard',
    order: 0,
    portals: ['admin', 'user'],
    render(view, ctx) {
      return ctx.me.portal === 'admin' ? staff(view, ctx) : holder(view, ctx);
    },
  });
})();
