// Cron jobs: the account's jobs with their schedule (in plain words too), command,
// comment and next run times; add, edit and delete; where cron mails the output.
// A schedule is picked in plain words (every 5 minutes, hourly, daily at an hour,
// weekly, monthly) or typed as the five crontab fields. On the user portal, the
// caller's own account; on the admin portal, the account the address names
// (#/cron?user=NAME), chosen from a list like the domains page.
(function () {
  'use strict';
  const { el, api } = HS;

  const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
  const SHORT_DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const KINDS = [
    { value: 'every5', label: 'Every 5 minutes' },
    { value: 'hourly', label: 'Every hour' },
    { value: 'daily', label: 'Every day at…' },
    { value: 'weekly', label: 'Every week on…' },
    { value: 'monthly', label: 'Every month on day…' },
    { value: 'custom', label: 'My own five fields' },
  ];
  const MACROS = {
    '@hourly': '0 * * * *',
    '@daily': '0 0 * * *',
    '@midnight': '0 0 * * *',
    '@weekly': '0 0 * * 0',
    '@monthly': '0 0 1 * *',
    '@yearly': '0 0 1 1 *',
    '@annually': '0 0 1 1 *',
  };

  const two = (n) => String(n).padStart(2, '0');
  const isNumber = (text, min, max) => /^\d{1,2}$/.test(text) && Number(text) >= min && Number(text) <= max;

  // The schedule in words, when it is one of the common forms; else null.
  function describe(schedule) {
    const text = schedule.trim();
    if (text === '@reboot') return 'When cron starts';
    const fields = (MACROS[text] || text).split(/\s+/);
    if (fields.length !== 5) return null;
    const [min, hour, dom, mon, dow] = fields;
    const step = /^\*\/(\d+)$/.exec(min);
    if (step && hour === '*' && dom === '*' && mon === '*' && dow === '*') {
      return step[1] === '1' ? 'Every minute' : 'Every ' + step[1] + ' minutes';
    }
    if (!isNumber(min, 0, 59)) return null;
    if (hour === '*' && dom === '*' && mon === '*' && dow === '*') {
      return min === '0' ? 'Every hour' : 'Every hour at ' + two(min) + ' past';
    }
    if (!isNumber(hour, 0, 23) || mon !== '*') return null;
    const at = two(hour) + ':' + two(min);
    if (dom === '*' && dow === '*') return 'Every day at ' + at;
    if (dom === '*' && isNumber(dow, 0, 7)) return 'Every ' + WEEKDAYS[Number(dow) % 7] + ' at ' + at;
    if (dow === '*' && isNumber(dom, 1, 31)) return 'On day ' + dom + ' of every month at ' + at;
    return null;
  }

  // The builder's state for a schedule: a common form on the hour, else custom.
  function builderState(schedule) {
    const state = { every: 'custom', hour: '3', weekday: '1', monthday: '1', custom: schedule || '' };
    if (!schedule) return { ...state, every: 'daily', custom: '' };
    const fields = (MACROS[schedule.trim()] || schedule.trim()).split(/\s+/);
    if (fields.length !== 5) return state;
    const [min, hour, dom, mon, dow] = fields;
    const rest = [hour, dom, mon, dow].join(' ');
    if (min === '*/5' && rest === '* * * *') return { ...state, every: 'every5' };
    if (min !== '0' || mon !== '*') return state;
    if (rest === '* * * *') return { ...state, every: 'hourly' };
    if (!isNumber(hour, 0, 23)) return state;
    const h = String(Number(hour));
    if (dom === '*' && dow === '*') return { ...state, every: 'daily', hour: h };
    if (dom === '*' && isNumber(dow, 0, 7)) return { ...state, every: 'weekly', hour: h, weekday: String(Number(dow) % 7) };
    if (dow === '*' && isNumber(dom, 1, 31)) return { ...state, every: 'monthly', hour: h, monthday: String(Number(dom)) };
    return state;
  }

  // The five fields the builder's values stand for.
  function scheduleOf(v) {
    switch (v.every) {
      case 'every5':
        return '*/5 * * * *';
      case 'hourly':
        return '0 * * * *';
      case 'daily':
        return '0 ' + v.hour + ' * * *';
      case 'weekly':
        return '0 ' + v.hour + ' * * ' + v.weekday;
      case 'monthly':
        return '0 ' + v.hour + ' ' + v.monthday + ' * *';
      default:
        return v.custom.trim();
    }
  }

  // The schedule's fields: how often, then only what that choice needs, and a
  // line that shows the five-field form as it will be saved.
  function scheduleFields(schedule) {
    const start = builderState(schedule);
    const hours = Array.from({ length: 24 }, (_, h) => ({ value: String(h), label: two(h) + ':00' }));
    const days = Array.from({ length: 31 }, (_, d) => ({ value: String(d + 1), label: String(d + 1) }));
    const every = HS.field({ name: 'every', label: 'Runs', options: KINDS, value: start.every });
    const weekday = HS.field({
      name: 'weekday',
      label: 'On',
      options: WEEKDAYS.map((d, i) => ({ value: String(i), label: d })),
      value: start.weekday,
    });
    const monthday = HS.field({ name: 'monthday', label: 'On day', options: days, value: start.monthday, hint: 'Months without that day are skipped.' });
    const hour = HS.field({ name: 'hour', label: 'At', options: hours, value: start.hour });
    const custom = HS.field({
      name: 'custom',
      label: 'Schedule (five fields)',
      value: start.custom,
      placeholder: '*/15 * * * *',
      hint: 'Minute, hour, day of month, month, day of week; or a macro such as @daily.',
    });
    const preview = el('p', { class: 'preview', 'aria-live': 'polite' });
    const shown = {
      weekday: ['weekly'],
      monthday: ['monthly'],
      hour: ['daily', 'weekly', 'monthly'],
      custom: ['custom'],
    };
    const nodes = { weekday, monthday, hour, custom };
    const read = () => {
      const v = {};
      for (const node of [every, weekday, monthday, hour, custom]) {
        const control = node.querySelector('input, select');
        v[control.name] = control.value;
      }
      return v;
    };
    const sync = () => {
      const v = read();
      for (const name of Object.keys(shown)) nodes[name].hidden = !shown[name].includes(v.every);
      const five = scheduleOf(v);
      const words = five ? describe(five) : null;
      preview.replaceChildren('Saved as ', el('code', null, five || '…'), words && v.every === 'custom' ? ' — ' + words : '');
    };
    for (const node of [every, weekday, monthday, hour, custom]) {
      node.querySelector('input, select').addEventListener('input', sync);
      node.querySelector('input, select').addEventListener('change', sync);
    }
    sync();
    return [every, weekday, monthday, hour, custom, preview];
  }

  // "2026-03-05T03:00:00+01:00" in the server's time, as the schedule reads.
  function runTime(iso) {
    const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(iso);
    if (!m) return el('time', null, iso);
    const day = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))).getUTCDay();
    return el('time', { datetime: iso }, SHORT_DAYS[day] + ' ' + m[1] + '-' + m[2] + '-' + m[3] + ' ' + m[4] + ':' + m[5]);
  }

  function nextRuns(job) {
    if (!job.next_runs.length) return el('span', { class: 'muted' }, describe(job.schedule) || 'Not on the clock');
    return el('ol', { class: 'next-runs' }, job.next_runs.slice(0, 3).map((t) => el('li', null, runTime(t))));
  }

  function scheduleCell(job) {
    const words = describe(job.schedule);
    // One node: a folded (phone) row's cell is a grid of label and content.
    return el('div', null, words ? el('span', { class: 'words' }, words) : null, el('code', null, job.schedule));
  }

  // The account the page acts on: nothing to add on the user port.


  function jobFields(job) {
    return scheduleFields(job ? job.schedule : '').concat([
      { name: 'command', label: 'Command', required: true, value: job ? job.command : '', placeholder: 'php ~/public_html/cron.php', hint: 'One line, run by the account’s shell in its home folder.' },
      { name: 'comment', label: 'Comment', value: job && job.comment ? job.comment : '', hint: 'Optional: what the job is for.' },
    ]);
  }

  function rowActions(job, ctx, scope) {
    const data = (action) => ({ 'data-action': action, 'data-id': String(job.id) });
    const label = job.comment || job.command;
    const edit = HS.button('Edit…', { ...data('edit'), 'aria-label': 'Edit the job ' + label }, () =>
      HS.dialog({
        name: 'edit-job',
        title: 'Edit the cron job',
        fields: jobFields(job),
        submit: 'Save',
        run: async (v) => {
          const body = { ...scope, id: job.id, schedule: scheduleOf(v), command: v.command.trim(), comment: v.comment.trim() };
          await api('cron/edit', body);
          ctx.notify(HS.okBox('The cron job was saved.'));
          ctx.reload();
        },
      }),
    );
    const remove = HS.button('Delete…', { ...data('delete'), class: 'small danger', 'aria-label': 'Delete the job ' + label }, () =>
      HS.dialog({
        name: 'delete-job',
        title: 'Delete the cron job',
        text: job.command,
        submit: 'Delete',
        danger: true,
        run: async () => {
          await api('cron/delete', { ...scope, id: job.id });
          ctx.notify(HS.okBox('The cron job was deleted.'));
          ctx.reload();
        },
      }),
    );
    return el('div', { class: 'row-actions' }, edit, remove);
  }

  function jobsTable(ctx, scope, cron) {
    return HS.table({
      rows: cron.jobs,
      key: (j) => String(j.id),
      class: 'cron-jobs',
      caption: ctx.me.portal === 'admin' ? 'Cron jobs of ' + cron.username : null,
      empty: 'No cron jobs yet.',
      columns: [
        { label: 'Schedule', cell: scheduleCell, class: 'schedule-cell' },
        { label: 'Command', cell: (j) => el('code', { class: 'command' }, j.command) },
        { label: 'Comment', cell: (j) => (j.comment ? el('span', { class: 'comment' }, j.comment) : '') },
        { label: 'Next runs', cell: nextRuns },
        { label: 'Actions', cell: (j) => rowActions(j, ctx, scope), class: 'actions-cell' },
      ],
    });
  }

  function addCard(ctx, scope) {
    const add = HS.form({
      name: 'add-job',
      submit: 'Add job',
      fields: jobFields(null),
      async onsubmit(v) {
        const body = { ...scope, schedule: scheduleOf(v), command: v.command.trim() };
        if (v.comment.trim()) body.comment = v.comment.trim();
        const job = await api('cron/add', body);
        ctx.notify(HS.okBox('Cron job added: ', el('code', null, job.schedule), ' ', el('code', null, job.command)));
        ctx.reload();
      },
    });
    return HS.card('Add a cron job', add);
  }

  function mailtoCard(ctx, scope, cron) {
    const mailto = HS.form({
      name: 'mailto',
      submit: 'Save',
      fields: [
        {
          name: 'mailto',
          label: 'Send the output to',
          type: 'email',
          value: cron.mailto || '',
          autocomplete: 'email',
          placeholder: 'you@example.com',
          hint: 'Empty: the output is thrown away.',
        },
      ],
      async onsubmit(v) {
        const saved = await api('cron/set_mailto', { ...scope, mailto: v.mailto.trim() });
        ctx.notify(HS.okBox(saved.mailto ? ['Output now goes to ', saved.mailto, '.'] : 'Output is now thrown away.'));
        ctx.reload();
      },
    });
    return HS.card('Job output (MAILTO)', mailto);
  }

  async function render(view, ctx) {
    const scope = HS.accountScope(ctx);
    const admin = ctx.me.portal === 'admin';
    if (admin && !scope.username) {
      const { accounts } = await api('account/list');
      view.append(HS.card('Whose cron jobs?', HS.accountPicker(ctx, accounts, '')));
      return;
    }
    const [cron, accounts] = await Promise.all([api('cron/list', scope), admin ? api('account/list') : Promise.resolve(null)]);
    if (accounts) view.append(el('div', { class: 'picker' }, HS.accountPicker(ctx, accounts.accounts, scope.username)));
    if (cron.suspended) {
      view.append(el('div', { class: 'notice info', role: 'status' }, 'The account is suspended: its jobs are kept but do not run.'));
    }
    view.append(
      el('p', { class: 'muted' }, 'Times are the server’s (', cron.time_zone, ').'),
      jobsTable(ctx, scope, cron),
      el('div', { class: 'cards' }, addCard(ctx, scope), mailtoCard(ctx, scope, cron)),
    );
  }

  HS.page({ id: 'cron', title: 'Cron jobs', order: 26, portals: ['admin', 'user'], render });
})();
