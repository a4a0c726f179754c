// DNS zone editor: the records of one of the account's zones (main, addon and
// parked domains have one), added, edited and deleted one by one, replaced by a
// template or an imported zone file, and exported as text. On the user portal,
// the caller's own account; on the admin portal, the account the address names
// (#/dns?user=NAME&zone=DOMAIN), chosen from a list like the domains page.
(function () {
  'use strict';
  const { el, api } = HS;

  const TYPES = ['A', 'AAAA', 'CNAME', 'MX', 'TXT', 'SRV', 'CAA', 'NS'];
  const WITH_PRIORITY = ['MX', 'SRV'];
  const DEFAULT_TTL = 14400;

  const VALUE_HINTS = {
    A: 'An IPv4 address, e.g. 192.0.2.10.',
    AAAA: 'An IPv6 address, e.g. 2001:db8::10.',
    CNAME: 'A host name: relative to the zone, or absolute with a final dot.',
    MX: 'The mail server, e.g. mail (the priority goes in its own field).',
    TXT: 'Plain text; quotes only for several strings.',
    SRV: 'Weight, port and target, e.g. 5 5060 sip (the priority goes in its own field).',
    CAA: 'Flags, tag and value, e.g. 0 issue "letsencrypt.org".',
    NS: 'A name server host name, absolute with a final dot.',
  };

  // The account the page acts on: nothing to add on the user port.

  // The address of this page for an account and a zone.
  function address(scope, zone) {
    const parts = [];
    if (scope.username) parts.push('user=' + encodeURIComponent(scope.username));
    if (zone) parts.push('zone=' + encodeURIComponent(zone));
    return '#/dns' + (parts.length ? '?' + parts.join('&') : '');
  }


  function zonePicker(ctx, scope, zones, current) {
    return HS.form({
      name: 'pick-zone',
      submit: 'Show records',
      fields: [{ name: 'zone', label: 'Zone', options: zones.map((z) => ({ value: z, label: z })), value: current }],
      async onsubmit(v) {
        ctx.go(address(scope, v.zone));
      },
    });
  }

  // MX and SRV values start with their priority: split it off for the form.
  function splitPriority(record) {
    if (!WITH_PRIORITY.includes(record.type)) return { priority: '', value: record.value };
    const match = /^(\d+)\s+(.*)$/.exec(record.value);
    return match ? { priority: match[1], value: match[2] } : { priority: '', value: record.value };
  }

  // The record's fields, the priority shown only for MX and SRV, the value's
  // hint following the type. Returns the field nodes.
  function recordFields(initial) {
    const start = initial ? splitPriority(initial) : { priority: '', value: '' };
    const type = HS.field({
      name: 'type',
      label: 'Type',
      options: TYPES.map((t) => ({ value: t, label: t })),
      value: initial ? initial.type : 'A',
    });
    const name = HS.field({
      name: 'name',
      label: 'Name',
      value: initial ? initial.name : '',
      placeholder: '@ or www',
      hint: '@ is the zone itself; other names are relative to it.',
    });
    const value = HS.field({ name: 'value', label: 'Value', value: start.value, hint: VALUE_HINTS.A });
    const ttl = HS.field({
      name: 'ttl',
      label: 'TTL (seconds)',
      type: 'number',
      min: 30,
      max: 604800,
      inputmode: 'numeric',
      value: String(initial ? initial.ttl : DEFAULT_TTL),
    });
    const priority = HS.field({
      name: 'priority',
      label: 'Priority',
      type: 'number',
      min: 0,
      max: 65535,
      inputmode: 'numeric',
      value: start.priority || '10',
      hint: 'Lower is tried first.',
    });
    const select = type.querySelector('select');
    const hint = value.querySelector('.hint');
    const sync = () => {
      priority.hidden = !WITH_PRIORITY.includes(select.value);
      hint.textContent = VALUE_HINTS[select.value] || '';
    };
    select.addEventListener('change', sync);
    sync();
    return [type, name, value, ttl, priority];
  }

  // The API's record from the form's values.
  function recordBody(scope, zone, v) {
    const body = { ...scope, domain: zone, type: v.type, name: v.name.trim(), value: v.value.trim() };
    if (v.ttl.trim() !== '') body.ttl = Number(v.ttl);
    if (WITH_PRIORITY.includes(v.type) && v.priority.trim() !== '') body.priority = Number(v.priority);
    return body;
  }

  function rowActions(r, ctx, scope, zone) {
    const label = r.name + ' ' + r.type;
    const data = (action) => ({ 'data-action': action, 'data-id': String(r.id) });
    const edit = HS.button('Edit…', { ...data('edit'), 'aria-label': 'Edit the record ' + label }, () =>
      HS.dialog({
        name: 'edit-record',
        title: 'Edit the record ' + label,
        fields: recordFields(r),
        submit: 'Save',
        run: async (v) => {
          const saved = await api('dns/edit_record', { ...recordBody(scope, zone, v), id: r.id });
          ctx.notify(HS.okBox('Record ', el('code', null, saved.name + ' ' + saved.type), ' saved.'));
          ctx.reload();
        },
      }),
    );
    const remove = HS.button('Delete…', { ...data('delete'), class: 'small danger', 'aria-label': 'Delete the record ' + label }, () =>
      HS.dialog({
        name: 'delete-record',
        title: 'Delete the record ' + label,
        text: r.value,
        submit: 'Delete',
        danger: true,
        run: async () => {
          await api('dns/delete_record', { ...scope, domain: zone, id: r.id });
          ctx.notify(HS.okBox('Record ', el('code', null, label), ' deleted.'));
          ctx.reload();
        },
      }),
    );
    return el('div', { class: 'row-actions' }, edit, remove);
  }

  function nameCell(r) {
    // One node: a folded (phone) row's cell is a grid of label and content.
    return el(
      'div',
      null,
      el('code', null, r.name),
      r.source ? [' ', el('span', { class: 'badge', title: 'Published by the panel for its ' + r.source }, r.source)] : null,
    );
  }

  function recordsTable(ctx, scope, zone) {
    return HS.table({
      rows: zone.records,
      key: (r) => String(r.id),
      class: 'dns-records',
      caption: 'Records of ' + zone.domain + ' (serial ' + zone.serial + ')',
      empty: 'This zone has no records.',
      columns: [
        { label: 'Name', cell: nameCell },
        { label: 'Type', cell: (r) => el('span', { class: 'badge' }, r.type) },
        { label: 'TTL', cell: (r) => String(r.ttl), class: 'num' },
        { label: 'Value', cell: (r) => el('code', { class: 'value' }, r.value), class: 'value-cell' },
        { label: 'Id', cell: (r) => String(r.id), class: 'num' },
        { label: 'Actions', cell: (r) => rowActions(r, ctx, scope, zone.domain), class: 'actions-cell' },
      ],
    });
  }

  function addCard(ctx, scope, zone) {
    const add = HS.form({
      name: 'add-record',
      submit: 'Add record',
      grid: true,
      fields: recordFields(null),
      async onsubmit(v) {
        const added = await api('dns/add_record', recordBody(scope, zone, v));
        ctx.notify(HS.okBox('Record ', el('code', null, added.name + ' ' + added.type + ' ' + added.value), ' added.'));
        ctx.reload();
      },
    });
    return HS.card('Add a record', add);
  }

  function templateCard(ctx, scope, zone, templates) {
    const apply = HS.form({
      name: 'apply-template',
      submit: 'Apply template…',
      fields: [{ name: 'template', label: 'Template', options: templates.map((t) => ({ value: t, label: t })) }],
      async onsubmit(v) {
        await HS.dialog({
          name: 'confirm-template',
          title: 'Apply the template ' + v.template,
          text: 'Every record of ' + zone + ' is replaced by the template’s records.',
          submit: 'Replace the records',
          danger: true,
          run: async () => {
            await api('dns/apply_template', { ...scope, domain: zone, template: v.template });
            ctx.notify(HS.okBox('The template ', el('code', null, v.template), ' was applied to ', zone, '.'));
            ctx.reload();
          },
        });
      },
    });
    return HS.card('Start from a template', el('p', { class: 'muted' }, 'Replaces all records of the zone.'), apply);
  }

  function importCard(ctx, scope, zone) {
    const importer = HS.form({
      name: 'import-zone',
      submit: 'Import',
      danger: true,
      fields: [
        {
          name: 'zone',
          label: 'Zone file',
          type: 'textarea',
          rows: 8,
          required: true,
          placeholder: '$TTL 14400\n@ IN A 192.0.2.10\nwww IN CNAME @',
          hint: 'An RFC 1035 master file. Its records replace all records of the zone.',
        },
      ],
      async onsubmit(v) {
        const result = await api('dns/import_zone', { ...scope, domain: zone, zone: v.zone });
        const count = result && result.records ? result.records.length : 0;
        ctx.notify(HS.okBox('Imported ', String(count), ' records into ', zone, '.'));
        ctx.reload();
      },
    });
    return HS.card('Import a zone file', importer);
  }

  // The button sits in a card; the text appears below the cards, full width.
  // DNSSEC: named signs the zone; the DS records go to the registrar.
  function dnssecCard(ctx, scope, z) {
    const signed = z.dnssec === 'signed';
    const label = signed ? 'Stop signing…' : 'Sign with DNSSEC…';
    const toggle = HS.button(label, { class: 'small', 'data-action': 'dnssec' }, () =>
      HS.dialog({
        name: 'set-dnssec',
        title: (signed ? 'Stop signing ' : 'Sign ') + z.domain,
        text: signed
          ? 'Remove the DS records at your registrar first; signatures stay until resolvers have forgotten them.'
          : 'named makes the keys and signs the zone; then give the DS record to your registrar.',
        submit: signed ? 'Stop signing' : 'Sign',
        run: async () => {
          await api('dns/set_dnssec', { ...scope, domain: z.domain, enabled: !signed });
          ctx.notify(HS.okBox('DNSSEC ', signed ? 'turned off' : 'turned on', ' for ', el('code', null, z.domain), '.'));
          ctx.reload();
        },
      }),
    );
    const state = { unsigned: 'Not signed.', signed: 'Signed by named.', unsigning: 'Going back to unsigned.' }[z.dnssec] || '';
    const ds = (z.ds || []).map((line) => el('code', { class: 'value ds' }, line));
    const waiting = signed && !ds.length ? el('p', { class: 'muted' }, 'The keys are being made; reload for the DS record.') : null;
    return HS.card('DNSSEC', el('p', { class: 'muted' }, state), ds.length ? el('div', { class: 'ds-records' }, ds) : null, waiting, el('div', { class: 'actions' }, toggle));
  }

  function exportCard(scope, zone, output) {
    const show = HS.button('Show the zone file', { class: 'small', 'data-action': 'export' }, async (event) => {
      const pressed = event.currentTarget;
      pressed.disabled = true;
      try {
        const result = await api('dns/export_zone', { ...scope, domain: zone });
        const lines = result.zone.split('\n').length;
        const text = HS.field({
          name: 'exported',
          label: 'Zone file of ' + zone,
          type: 'textarea',
          readonly: true,
          wrap: 'off',
          rows: Math.min(lines + 1, 24),
          value: result.zone,
        });
        output.replaceChildren(HS.card('Exported zone file', text));
        output.querySelector('textarea').focus();
      } catch (error) {
        output.replaceChildren(HS.errorBox(error));
      } finally {
        pressed.disabled = false;
      }
    });
    return HS.card('Export', el('p', { class: 'muted' }, 'The zone as a master file, to copy or keep.'), el('div', { class: 'actions' }, show), output);
  }

  // A domain without a zone (one made before DNS hosting) can get one here.
  function createCard(ctx, scope, zone, templates, error) {
    const create = HS.form({
      name: 'create-zone',
      submit: 'Create the zone',
      fields: [{ name: 'template', label: 'From the template', options: templates.map((t) => ({ value: t, label: t })), value: 'default' }],
      async onsubmit(v) {
        await api('dns/create_zone', { ...scope, domain: zone, template: v.template });
        ctx.notify(HS.okBox('The zone ', zone, ' was created.'));
        ctx.reload();
      },
    });
    return [HS.errorBox(error), HS.card('Serve DNS for ' + zone, create)];
  }

  async function render(view, ctx) {
    const scope = HS.accountScope(ctx);
    const admin = ctx.me.portal === 'admin';
    if (admin && !scope.username) {
      const { accounts } = await api('account/list');
      view.append(HS.card('Whose zones?', HS.accountPicker(ctx, accounts, '')));
      return;
    }
    // With a zone in the address, its records load together with the rest.
    const wanted = ctx.params.get('zone');
    const records = (domain) => api('dns/list_records', { ...scope, domain }).then((z) => ({ z }), (e) => ({ e }));
    const [list, templates, accounts, early] = await Promise.all([
      api('domain/list', scope),
      api('dns/templates').then((t) => t.templates),
      admin ? api('account/list') : Promise.resolve(null),
      wanted ? records(wanted) : Promise.resolve(null),
    ]);
    if (accounts) view.append(el('div', { class: 'picker' }, HS.accountPicker(ctx, accounts.accounts, scope.username)));

    const zones = list.domains.filter((d) => d.type !== 'sub').map((d) => d.domain);
    if (!zones.length) {
      view.append(el('p', { class: 'empty' }, 'This account has no domain with a DNS zone.'));
      return;
    }
    const zone = wanted && zones.includes(wanted) ? wanted : zones[0];
    view.append(el('div', { class: 'picker' }, zonePicker(ctx, scope, zones, zone)));
    const loaded = early && zone === wanted ? early : await records(zone);
    if (loaded.e) {
      if (loaded.e.status !== 404) throw loaded.e;
      view.append(createCard(ctx, scope, zone, templates, loaded.e));
      return;
    }
    const exported = el('div', { class: 'export' });
    view.append(
      recordsTable(ctx, scope, loaded.z),
      addCard(ctx, scope, zone),
      el('div', { class: 'cards' }, templateCard(ctx, scope, zone, templates), importCard(ctx, scope, zone), dnssecCard(ctx, scope, loaded.z), exportCard(scope, zone, exported)),
      exported,
    );
  }

  HS.page({ id: 'dns', title: 'DNS zones', order: 25, portals: ['admin', 'user'], render });
})();
