// Plugins. "plugin" (hidden from the static menu) shows a plugin route's answer;
// the plugins' own menu entries link to it. "plugins" (admin) lists the
// installed plugins with their status, refusals and failed post hooks, and
// enables or disables them. Everything a plugin sends becomes text nodes.
(function () {
  'use strict';
  const { el, api } = HS;

  // A JSON value as text: strings as they are, the rest as compact JSON.
  function text(value) {
    return typeof value === 'string' ? value : JSON.stringify(value);
  }

  async function renderRoute(view, ctx) {
    const name = ctx.params.get('name') || '';
    const route = ctx.params.get('route') || '';
    if (!/^[a-z][a-z0-9_-]*$/.test(name) || !/^[a-z0-9][a-z0-9_\/-]*$/.test(route)) {
      view.append(el('p', null, 'No plugin route was named.'));
      return;
    }
    const answer = await api('plugin/' + name + '/' + route);
    const rows = Object.keys(answer || {}).filter((k) => k !== 'title');
    view.append(
      HS.card(
        text(answer.title || name + ' / ' + route),
        el(
          'dl',
          { class: 'plugin-answer' },
          rows.map((key) => [el('dt', null, key), el('dd', null, text(answer[key]))]),
        ),
      ),
    );
  }

  function status(p) {
    const cls = p.status === 'active' ? 'ok' : p.status === 'broken' ? 'error' : 'muted';
    return el('span', { class: 'status ' + cls }, p.status.replace(/_/g, ' '));
  }

  async function renderList(view, ctx) {
    const { plugins } = await api('plugin/list');
    const toggle = (p) => {
      if (p.status === 'broken') return el('span', { class: 'muted' }, '—');
      const enable = p.status !== 'active';
      return HS.button(enable ? 'Enable' : 'Disable', { class: 'small secondary' }, async () => {
        try {
          await api(enable ? 'plugin/enable' : 'plugin/disable', { name: p.name });
          ctx.notify(HS.okBox('Plugin ', el('strong', null, p.name), enable ? ' enabled.' : ' disabled.'));
          ctx.reload();
        } catch (error) {
          ctx.notify(HS.errorBox(error));
        }
      });
    };
    const columns = [
      { label: 'Plugin', cell: (p) => el('strong', null, p.name) },
      { label: 'Status', cell: status },
      { label: 'About', cell: (p) => p.error || p.description },
      { label: 'Hooks', cell: (p) => p.hooks.join(', ') },
      {
        label: 'Failed post hooks',
        cell: (p) =>
          p.alerts.length
            ? el('ul', null, p.alerts.map((a) => el('li', null, text(a.hook) + ' (' + text(a.operation_id) + '): ' + text(a.message))))
            : '',
      },
      { label: 'Actions', cell: toggle },
    ];
    view.append(HS.table({ rows: plugins, columns, key: (p) => p.name, class: 'plugins', empty: 'No plugins are installed.' }));
  }

  HS.page({ id: 'plugin', title: 'Plugin', order: 1000, portals: ['admin', 'user'], hidden: true, render: renderRoute });
  HS.page({ id: 'plugins', title: 'Plugins', order: 90, portals: ['admin'], roles: ['admin'], render: renderList });
})();
