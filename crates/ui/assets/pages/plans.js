// Plans (admin portal): the named sets of limits accounts are created on.
(function () {
  'use strict';
  const { el, api } = HS;

  // The limits a plan has, in the API's names; blank means unlimited.
  const LIMITS = [
    ['disk_mb', 'Disk space (MB)'],
    ['bandwidth_mb', 'Bandwidth (MB a month)'],
    ['addon_domains', 'Addon domains'],
    ['subdomains', 'Subdomains'],
    ['parked_domains', 'Parked domains'],
    ['mailboxes', 'Mailboxes'],
    ['forwarders', 'Forwarders'],
    ['databases', 'Databases'],
    ['cron_jobs', 'Cron jobs'],
    ['dns_records', 'DNS records per zone'],
  ];

  function limitCell(value) {
    return value === null || value === undefined ? el('span', { class: 'muted' }, 'unlimited') : String(value);
  }

  function saveForm(ctx, plan) {
    const limits = (plan && plan.limits) || {};
    const fields = [
      { name: 'name', label: 'Plan name', required: true, value: plan ? plan.name : '', hint: 'Lowercase letters, digits, _ and -.' },
      ...LIMITS.map(([key, label]) => ({
        name: key,
        label,
        type: 'number',
        min: 0,
        inputmode: 'numeric',
        placeholder: 'unlimited',
        value: limits[key] === null || limits[key] === undefined ? '' : String(limits[key]),
      })),
    ];
    return HS.form({
      name: 'save-plan',
      grid: true,
      submit: plan ? 'Save plan' : 'Create plan',
      fields,
      async onsubmit(v) {
        const body = { name: v.name.trim(), limits: {} };
        for (const [key, label] of LIMITS) {
          const text = v[key].trim();
          if (text === '') continue;
          const number = Number(text);
          if (!Number.isInteger(number) || number < 0) {
            throw new Error(label + ' must be a whole number, or blank for unlimited.');
          }
          body.limits[key] = number;
        }
        const saved = await api('plan/save', body);
        ctx.notify(HS.okBox('Plan ', el('strong', null, saved.name), ' saved.'));
        ctx.replace('#/plans');
        ctx.reload();
      },
    });
  }

  async function render(view, ctx) {
    const { plans } = await api('plan/list');
    const editing = ctx.params.get('edit');
    const current = plans.find((p) => p.name === editing);
    const columns = [
      { label: 'Plan', cell: (p) => el('strong', null, p.name) },
      ...LIMITS.map(([key, label]) => ({ label, cell: (p) => limitCell(p.limits[key]) })),
      { label: 'Owner', cell: (p) => p.owner || 'admin' },
      {
        label: 'Actions',
        cell: (p) => el('a', { class: 'button small secondary', href: '#/plans?edit=' + encodeURIComponent(p.name) }, 'Edit'),
      },
    ];
    const form = HS.card(current ? 'Edit plan ' + current.name : 'Create a plan', saveForm(ctx, current));
    view.append(HS.table({ rows: plans, columns, key: (p) => p.name, class: 'plans', empty: 'No plans yet.' }), form);
    if (current) form.querySelector('input').focus();
  }

  HS.page({ id: 'plans', title: 'Plans', order: 30, portals: ['admin'], render });
})();
