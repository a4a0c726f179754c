// Tasks (both portals): the jobs of hs-taskd's queue the caller may see, newest
// first. A waiting or running job's progress bar follows the server's event
// stream (GET /api/task/events?id=..., EventSource): the server pushes each
// change, the page never polls. At most STREAMS streams are open at once, so the
// browser keeps connections free for API calls; leaving the page closes them.
(function () {
  'use strict';
  const { el, api } = HS;

  const STREAMS = 4;
  const open = new Set();

  function closeAll() {
    for (const source of open) source.close();
    open.clear();
  }
  window.addEventListener('hashchange', closeAll);

  function stateLabel(job) {
    if (job.cancel_requested && !['succeeded', 'failed', 'cancelled'].includes(job.state)) {
      return job.state + ' (cancelling)';
    }
    return job.state;
  }

  // The cells of one job that the stream updates, built once.
  function liveCells(job) {
    const bar = el('progress', { max: '100', value: String(job.percent) });
    const message = el('span', { class: 'muted' }, job.message);
    const state = el('span', { class: 'state state-' + job.state }, stateLabel(job));
    const update = (next) => {
      bar.value = next.percent;
      message.textContent = next.message;
      state.textContent = stateLabel(next);
      state.className = 'state state-' + next.state;
    };
    return { bar, message, state, update };
  }

  function follow(job, cells, onDone) {
    if (open.size >= STREAMS) return;
    const source = new EventSource('/api/task/events?id=' + encodeURIComponent(job.id));
    open.add(source);
    const take = (event) => {
      try {
        cells.update(JSON.parse(event.data));
      } catch (e) {
        // A malformed event is ignored; the next one carries the whole status.
      }
    };
    source.addEventListener('progress', take);
    source.addEventListener('done', (event) => {
      take(event);
      source.close();
      open.delete(source);
      onDone();
    });
    // The server ends the stream after the job; an error otherwise means the
    // job is gone or the session ended: stop rather than reconnect forever.
    source.addEventListener('error', () => {
      source.close();
      open.delete(source);
    });
  }

  function submitForm(ctx) {
    const admin = ctx.me.portal === 'admin';
    return HS.form({
      name: 'submit-task',
      grid: true,
      submit: 'Queue',
      fields: [
        admin ? { name: 'username', label: 'Account', required: true, value: ctx.params.get('user') || '' } : null,
        {
          name: 'kind',
          label: 'Work',
          options: [
            { value: 'rebuild_web', label: 'Rebuild the web server files' },
            { value: 'rebuild_dns', label: 'Rebuild the DNS zones' },
          ],
          value: 'rebuild_web',
        },
        { name: 'reason', label: 'Reason', placeholder: 'optional, one line' },
      ],
      async onsubmit(v) {
        const body = { kind: v.kind };
        if (admin) body.username = v.username.trim();
        if (v.reason.trim()) body.reason = v.reason.trim();
        const job = await api('task/submit', body);
        ctx.notify(HS.okBox('Queued job ', el('code', null, job.id), '.'));
        ctx.reload();
      },
    });
  }

  async function render(view, ctx) {
    closeAll();
    const { jobs } = await api('task/list');
    const live = new Map();
    for (const job of jobs) live.set(job.id, liveCells(job));

    const columns = [
      { label: 'Job', cell: (j) => el('code', null, j.id) },
      { label: 'Work', cell: (j) => j.kind },
      { label: 'Account', cell: (j) => j.account || el('span', { class: 'muted' }, 'server') },
      { label: 'State', cell: (j) => live.get(j.id).state },
      { label: 'Progress', class: 'progress', cell: (j) => [live.get(j.id).bar, ' ', live.get(j.id).message] },
      { label: 'Asked by', cell: (j) => j.job.actor.name },
      { label: 'Reason', cell: (j) => j.job.reason },
      { label: 'Created', cell: (j) => HS.when(j.job.created) },
      {
        label: 'Actions',
        cell: (j) =>
          ['pending', 'running'].includes(j.state)
            ? HS.button('Cancel', { class: 'small danger' }, async () => {
                try {
                  await api('task/cancel', { id: j.id });
                  ctx.notify(HS.okBox('Cancel requested for ', el('code', null, j.id), '.'));
                } catch (error) {
                  ctx.notify(HS.errorBox(error));
                }
              })
            : null,
      },
    ];
    view.append(
      HS.table({ rows: jobs, columns, key: (j) => j.id, class: 'tasks', empty: 'No jobs yet.' }),
      HS.card('Queue work', submitForm(ctx)),
    );
    for (const job of jobs) {
      if (['pending', 'running'].includes(job.state)) follow(job, live.get(job.id), () => {});
    }
  }

  HS.page({ id: 'tasks', title: 'Tasks', order: 90, portals: ['admin', 'user'], render });
})();
