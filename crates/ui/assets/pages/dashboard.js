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
    if (ctx.me.role === 'admin') await server(view, ctx);
  }

  // ---- The server (administrators): health, services, alerts, history --------

  function bytes(n) {
    return HSChart.short(n, 'B');
  }

  function seconds(iso) {
    const t = Date.parse(iso);
    return isNaN(t) ? 0 : t / 1000;
  }

  // Counter samples to rates: bytes per second between consecutive samples.
  function rates(samples, field) {
    const out = [];
    for (let i = 1; i < samples.length; i += 1) {
      const dt = seconds(samples[i].time) - seconds(samples[i - 1].time);
      const dv = samples[i][field] - samples[i - 1][field];
      if (dt > 0 && dv >= 0) out.push([seconds(samples[i].time), dv / dt]);
    }
    return out;
  }

  function historyCharts(samples) {
    const pts = (field) => samples.map((x) => [seconds(x.time), x[field]]);
    return el(
      'div',
      { class: 'charts' },
      HSChart.line({ title: 'CPU', unit: '%', max: 100, series: [{ label: 'CPU %', points: pts('cpu_percent') }] }),
      HSChart.line({ title: 'Load (1 minute)', series: [{ label: 'load', points: pts('load1') }] }),
      HSChart.line({
        title: 'Memory and swap',
        unit: '%',
        max: 100,
        series: [
          { label: 'memory %', points: pts('memory_percent') },
          { label: 'swap %', points: pts('swap_percent') },
        ],
      }),
      HSChart.line({ title: 'Disk (fullest filesystem)', unit: '%', max: 100, series: [{ label: 'disk %', points: pts('disk_percent') }] }),
      HSChart.line({
        title: 'Network',
        unit: 'B/s',
        series: [
          { label: 'received', points: rates(samples, 'rx_bytes') },
          { label: 'sent', points: rates(samples, 'tx_bytes') },
        ],
      }),
    );
  }

  function reloadCell(r) {
    if (!r) return '—';
    const badge = r.ok ? el('span', { class: 'badge good' }, 'OK') : el('span', { class: 'badge bad' }, 'Failed');
    return el('span', null, badge, ' ', HS.when(r.time), r.ok ? null : ' ' + r.message);
  }

  function thresholdsForm(ctx, current, email) {
    const t = current || {};
    return HS.form({
      name: 'thresholds',
      grid: true,
      submit: 'Save thresholds',
      fields: [
        { name: 'disk_percent', label: 'Disk full (%)', type: 'number', min: 1, max: 100, value: t.disk_percent },
        { name: 'inodes_percent', label: 'Inodes used (%)', type: 'number', min: 1, max: 100, value: t.inodes_percent },
        { name: 'memory_percent', label: 'Memory used (%)', type: 'number', min: 1, max: 100, value: t.memory_percent },
        { name: 'swap_percent', label: 'Swap used (%)', type: 'number', min: 1, max: 100, value: t.swap_percent },
        { name: 'load_percent', label: 'Load (% of the cores)', type: 'number', min: 10, max: 10000, value: t.load_percent },
        { name: 'admin_email', label: 'E-mail alerts to', type: 'email', value: email || '', hint: 'Leave empty to show alerts here only.' },
      ],
      async onsubmit(values) {
        const input = { admin_email: values.admin_email };
        for (const key of ['disk_percent', 'inodes_percent', 'memory_percent', 'swap_percent', 'load_percent']) {
          if (values[key] !== '') input[key] = Number(values[key]);
        }
        await api('monitor/set_thresholds', input);
        ctx.notify(HS.okBox('Thresholds saved.'));
      },
    });
  }

  async function server(view, ctx) {
    const [s, services, history] = await Promise.all([
      api('monitor/server'),
      api('monitor/services'),
      api('monitor/history', { range: 'day' }),
    ]);
    const fullest = s.filesystems.reduce((m, f) => Math.max(m, f.used_percent), 0);
    const down = services.services.filter((x) => !x.up).length;
    view.append(
      el(
        'div',
        { class: 'tiles' },
        tile('CPU', s.cpu.used_percent + ' %'),
        tile('Load', s.load[0]),
        tile('Memory', s.memory.used_percent + ' %'),
        tile('Fullest disk', fullest + ' %'),
        tile('Services down', down),
        tile('Alerts', s.alerts.length),
      ),
      HS.card(
        'Alerts',
        HS.table({
          rows: s.alerts.slice(-20).reverse(),
          empty: 'No alerts.',
          columns: [
            { label: 'Kind', cell: (a) => a.kind },
            { label: 'Message', cell: (a) => a.message },
            { label: 'E-mail', cell: (a) => a.mail || '—' },
            { label: 'Time', cell: (a) => HS.when(a.time) },
          ],
        }),
      ),
      HS.card(
        'Services',
        HS.table({
          rows: services.services,
          columns: [
            { label: 'Service', cell: (x) => x.name },
            { label: 'Status', cell: (x) => (x.up ? el('span', { class: 'badge good' }, 'Up') : el('span', { class: 'badge bad' }, 'Down')) },
            { label: 'Detail', cell: (x) => x.detail },
            { label: 'Last reload', cell: (x) => reloadCell(x.last_reload) },
          ],
        }),
      ),
      HS.card('Last day', historyCharts(history.samples)),
      HS.card(
        'Filesystems',
        HS.table({
          rows: s.filesystems,
          columns: [
            { label: 'Mount', cell: (f) => f.mount },
            { label: 'Used', cell: (f) => bytes(f.used_bytes) + ' of ' + bytes(f.size_bytes) + ' (' + f.used_percent + ' %)' },
            { label: 'Inodes', cell: (f) => f.inodes_percent + ' %' },
          ],
        }),
      ),
      HS.card('Alert thresholds', thresholdsForm(ctx, s.thresholds, s.admin_email)),
    );
  }

  // ---- An account's usage and its domains' statistics ---------------------------

  async function accountUsage(view) {
    const [u, domains] = await Promise.all([api('monitor/usage'), api('domain/list')]);
    const mb = (n) => Math.round((n / 1048576) * 10) / 10;
    view.append(
      HS.card(
        'Disk and bandwidth',
        usage('Disk space (MB)', mb(u.disk_used_bytes), u.disk_limit_mb),
        usage('Bandwidth this month (MB)', mb(u.bandwidth_bytes), u.bandwidth_limit_mb),
        el('p', null, 'Mailboxes ' + bytes(u.mailbox_bytes) + ', databases ' + bytes(u.database_bytes) + '.'),
        u.mailboxes.length
          ? HS.table({
              rows: u.mailboxes,
              columns: [
                { label: 'Mailbox', cell: (m) => m.address },
                { label: 'Size', cell: (m) => bytes(m.size_bytes) },
                { label: 'Sent', cell: (m) => m.sent },
                { label: 'Received', cell: (m) => m.received },
              ],
            })
          : null,
      ),
    );
    const names = domains.domains.filter((d) => d.type !== 'sub').map((d) => d.domain).slice(0, 10);
    const all = await Promise.all(names.map((d) => api('monitor/stats', { domain: d, days: 30 })));
    for (const st of all) {
      // Every one of the last 30 days, 0 where hs-logd counted nothing.
      const byDay = new Map(st.days.map((d) => [d.day, d]));
      const days = [];
      for (let back = 29; back >= 0; back -= 1) {
        const day = new Date(Date.now() - back * 86400000).toISOString().slice(0, 10);
        days.push(byDay.get(day) || { day, bytes: 0, visitors: 0 });
      }
      const today = st.days[0];
      const hours = today ? today.hours.map((h, i) => [seconds(today.day + 'T00:00:00Z') + i * 3600, h.hits]) : [];
      view.append(
        HS.card(
          'Statistics of ' + st.domain,
          el('p', null, st.month.hits + ' hits, ' + bytes(st.month.bytes) + ' this month; ' + (st.month.dns_queries || 0) + ' DNS queries.'),
          el(
            'div',
            { class: 'charts' },
            HSChart.bars({ title: 'Bandwidth by day', unit: 'B', bars: days.map((d) => ({ label: d.day.slice(5), value: d.bytes })) }),
            HSChart.bars({ title: 'Visitors by day', bars: days.map((d) => ({ label: d.day.slice(5), value: d.visitors })) }),
            HSChart.line({ title: 'Hits today by hour (UTC)', utc: true, series: [{ label: 'hits', points: hours }] }),
          ),
          today
            ? HS.table({
                caption: 'Top pages today',
                rows: today.pages.slice(0, 10),
                columns: [
                  { label: 'Page', cell: (p) => p.key },
                  { label: 'Hits', cell: (p) => p.count },
                ],
              })
            : null,
        ),
      );
    }
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
    await accountUsage(view);
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
