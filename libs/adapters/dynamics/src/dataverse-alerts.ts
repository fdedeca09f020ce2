import { ALERT_DESCRIPTION_MAX, AlertState as AlertStateValue, AlertStatus as AlertStatusValue, err, ok, truncateWithEllipsis } from '@fieldlink/domain';
import {
  alertNotFound,
  CrmError,
  type CreatedIoTAlert,
  type CrmAlertsPort,
  type IoTAlertPatch,
  type IoTAlertUpdate,
  type NewIoTAlert,
  type StoredIoTAlert,
} from '@fieldlink/ports';
import { cutAlertData, fitAlertData } from './alert-data-overflow.js';
import { ALERT_DATA_NOTE_SUBJECT, AlertColumns, Tables } from './cfs-tables.js';
import { writeIndependently } from './dataverse-batch.js';
import type { BatchWrite, DataverseClient } from './dataverse-client.js';
import { bind, chunk, recordId, str, toAlert, type Row } from './dataverse-rows.js';
import { deterministicGuid } from './deterministic-id.js';
import { eqLookup, eqString, isGuid, odataDateTime, odataGuid, toDataverseDateTime } from './odata-literal.js';

/**
 * The IoT alerts (msdyn_iotalert) on Dataverse, as the CFS Logic App writes them: each created
 * by a guarded upsert under an id derived from its token (or given), many at once in `$batch`
 * requests; alert data longer than its column is kept whole in a note bound to the alert.
 */
export class DataverseAlerts implements CrmAlertsPort {
  constructor(private readonly client: DataverseClient) {}

  async createIoTAlert(alert: NewIoTAlert): Promise<CreatedIoTAlert> {
    const [result] = await this.createIoTAlerts([alert], { batch: false });
    return result!;
  }

  /**
   * Many alerts at once (a whole alerts-queue message, a replay): the existing ones are found with
   * one query per chunk, the others created by guarded upserts in one `$batch` per chunk, each
   * operation on its own, so one duplicate does not roll the others back. `batch: false` sends
   * one request per alert instead (the baseline of the benchmark).
   */
  async createIoTAlerts(alerts: readonly NewIoTAlert[], options: { readonly batch?: boolean } = {}): Promise<CreatedIoTAlert[]> {
    const batch = options.batch ?? true;
    const results: CreatedIoTAlert[] = new Array(alerts.length);
    const chunks = batch ? chunk([...alerts.keys()], this.client.batchSize) : alerts.map((_, i) => [i]);
    await Promise.all(
      chunks.map(async (indexes) => {
        const chunkAlerts = indexes.map((i) => alerts[i]!);
        // An alert with its own id is created under it (a second create answers 412); one without is found by its token.
        const byToken = chunkAlerts.filter((a) => a.alertId === undefined);
        const existing = byToken.length === 0 ? new Map<string, string>() : await this.alertIdsByToken(byToken.map((a) => a.alertToken));
        const writes: Array<{ index: number; write: BatchWrite; note?: BatchWrite }> = [];
        for (const index of indexes) {
          const alert = alerts[index]!;
          const found = alert.alertId === undefined ? existing.get(alert.alertToken) : undefined;
          if (found !== undefined) {
            results[index] = { alertId: found, created: false };
            continue;
          }
          const alertId = alert.alertId === undefined ? deterministicGuid('msdyn_iotalert', alert.alertToken) : recordId('msdyn_iotalert', alert.alertId);
          const { data, overflow } = this.alertRecord(alert);
          writes.push({
            index,
            write: { table: 'alerts', id: alertId, data, mode: 'create' },
            ...(overflow !== undefined ? { note: this.alertDataNote(alertId, overflow) } : {}),
          });
        }
        if (writes.length === 0) return;
        const outcomes =
          batch && writes.length > 1
            ? await writeIndependently(
                this.client,
                'create msdyn_iotalert',
                writes.map((w) => w.write),
              )
            : await Promise.all(writes.map((w) => this.client.guardedWrite('create msdyn_iotalert', w.write)));
        for (const [i, w] of writes.entries()) {
          const outcome = outcomes[i]!;
          this.client.failUnlessExists('create msdyn_iotalert', outcome);
          results[w.index] = { alertId: w.write.id, created: outcome.ok };
        }
        // The note is written after its alert (it binds to it), and again on a redelivery in case the first try stopped in between.
        const notes = writes.filter((w) => w.note !== undefined).map((w) => w.note!);
        for (const outcome of await Promise.all(notes.map((n) => this.client.guardedWrite('create annotation', n)))) {
          this.client.failUnlessExists('create annotation', outcome);
        }
        for (const w of writes.filter((x) => x.note !== undefined)) {
          this.client.log.warn('dynamics.alert-data-kept-in-note', {
            alertId: w.write.id,
            length: w.note!.data['notetext'] !== undefined ? String(w.note!.data['notetext']).length : 0,
          });
        }
      }),
    );
    return results;
  }

  async getIoTAlert(alertId: string): Promise<StoredIoTAlert | undefined> {
    const row = await this.client.retrieve('alerts', alertId, AlertColumns);
    return row === undefined ? undefined : this.withWholeAlertData(toAlert(row));
  }

  async findIoTAlertsByToken(alertToken: string): Promise<StoredIoTAlert[]> {
    const rows = await this.client.query('alerts', AlertColumns, { filter: eqString('msdyn_alerttoken', alertToken), orderBy: ['createdon asc'] });
    // Dataverse compares strings case-insensitively; tokens are matched exactly here.
    return Promise.all(rows.filter((r) => r['msdyn_alerttoken'] === alertToken).map((r) => this.withWholeAlertData(toAlert(r))));
  }

  async findRecentIoTAlerts(deviceId: string, since: number): Promise<StoredIoTAlert[]> {
    const rows = await this.client.query('alerts', AlertColumns, {
      filter: `${eqString('msdyn_deviceid', deviceId)} and msdyn_alerttime ge ${odataDateTime(since)}`,
      orderBy: ['msdyn_alerttime desc', 'createdon desc'],
    });
    return Promise.all(rows.filter((r) => r['msdyn_deviceid'] === deviceId && toAlert(r).alertTime >= since).map((r) => this.withWholeAlertData(toAlert(r))));
  }

  /**
   * A PATCH with `If-Match: *`, so it never creates the alert: Dataverse answers 404 where there
   * is no row. It answers 404 too for a lookup bound to a record that does not exist, so a 404 of
   * a patch with lookups is told apart by reading the alert.
   */
  async updateIoTAlert(alertId: string, patch: IoTAlertPatch): Promise<IoTAlertUpdate> {
    // Not a GUID: no record can have it, and Dataverse is not asked.
    if (!isGuid(alertId)) return err(alertNotFound(alertId));
    const id = odataGuid(alertId);
    const lookups: Row = {
      ...bind('alerts', 'msdyn_parentalert', 'alerts', patch.parentAlertId, false),
      ...bind('alerts', 'msdyn_case', 'cases', patch.caseId, false),
      ...bind('alerts', 'msdyn_lastcommandsent', 'commands', patch.lastCommandId, false),
    };
    const data: Row = {
      ...(patch.state !== undefined ? { statecode: patch.state } : {}),
      ...(patch.status !== undefined ? { statuscode: patch.status } : {}),
      ...lookups,
    };
    if (Object.keys(data).length === 0) return (await this.alertExists(alertId)) ? ok(undefined) : err(alertNotFound(alertId));
    try {
      await this.client.exec('update msdyn_iotalert', (signal) =>
        this.client.api.update({ collection: Tables.alerts.set, key: id, data, ifmatch: '*', signal }),
      );
      return ok(undefined);
    } catch (error) {
      if (!(error instanceof CrmError && error.code === 'NotFound')) throw error;
      if (Object.keys(lookups).length > 0 && (await this.alertExists(alertId))) throw error;
      return err(alertNotFound(alertId, error));
    }
  }

  async listIoTAlerts(query: { readonly deviceId?: string; readonly top?: number } = {}): Promise<StoredIoTAlert[]> {
    const rows = await this.client.query('alerts', AlertColumns, {
      ...(query.deviceId !== undefined ? { filter: eqString('msdyn_deviceid', query.deviceId) } : {}),
      orderBy: ['msdyn_alerttime desc', 'createdon desc'],
      ...(query.top !== undefined ? { top: query.top } : {}),
    });
    return Promise.all(
      rows.filter((r) => query.deviceId === undefined || r['msdyn_deviceid'] === query.deviceId).map((r) => this.withWholeAlertData(toAlert(r))),
    );
  }

  // ---- commands ----

  private alertRecord(alert: NewIoTAlert): { data: Row; overflow: string | undefined } {
    const description = truncateWithEllipsis(alert.description, ALERT_DESCRIPTION_MAX);
    if (description !== alert.description)
      this.client.log.warn('dynamics.alert-description-truncated', { alertToken: alert.alertToken, length: alert.description.length });
    const fitted = fitAlertData(alert.alertData);
    const data: Row = {
      msdyn_alerttoken: alert.alertToken,
      msdyn_deviceid: alert.deviceId,
      msdyn_description: description,
      msdyn_alertdata: fitted.column,
      msdyn_alerttime: toDataverseDateTime(alert.alertTime),
      msdyn_alerttype: alert.alertType,
      // A new alert is Active / Active in the CRM; other states are written, the default is left to it.
      ...(alert.state !== AlertStateValue.Active || alert.status !== AlertStatusValue.Active ? { statecode: alert.state, statuscode: alert.status } : {}),
      ...bind('alerts', 'msdyn_device', 'devices', alert.deviceRecordId, false),
      ...bind('alerts', 'msdyn_customerasset', 'customerAssets', alert.customerAssetId, false),
      ...bind('alerts', 'msdyn_parentalert', 'alerts', alert.parentAlertId, false),
    };
    return { data, overflow: fitted.overflow };
  }

  private alertDataNote(alertId: string, wholeText: string): BatchWrite {
    return {
      table: 'notes',
      id: deterministicGuid('annotation', alertId),
      mode: 'create',
      data: {
        subject: ALERT_DATA_NOTE_SUBJECT,
        notetext: wholeText,
        objecttypecode: Tables.alerts.entity,
        [`objectid_${Tables.alerts.entity}@odata.bind`]: `/${Tables.alerts.set}(${alertId})`,
      },
    };
  }

  /** Whether the CRM holds the alert: its key alone is read. */
  private async alertExists(alertId: string): Promise<boolean> {
    return (await this.client.retrieve('alerts', alertId, ['msdyn_iotalertid'])) !== undefined;
  }

  private async withWholeAlertData(alert: StoredIoTAlert): Promise<StoredIoTAlert> {
    const cut = cutAlertData(alert.alertData);
    if (cut === undefined) return alert;
    const [note] = await this.client.query('notes', ['notetext'], {
      filter: `${eqLookup('objectid', alert.alertId)} and ${eqString('subject', ALERT_DATA_NOTE_SUBJECT)}`,
      top: 1,
    });
    const whole = note === undefined ? undefined : str(note['notetext']);
    if (whole === undefined || whole.length !== cut.total) {
      this.client.log.warn('dynamics.alert-data-note-missing', { alertId: alert.alertId });
      return alert;
    }
    return { ...alert, alertData: whole };
  }

  private async alertIdsByToken(tokens: readonly string[]): Promise<Map<string, string>> {
    const filter = tokens.map((t) => eqString('msdyn_alerttoken', t)).join(' or ');
    const rows = await this.client.query('alerts', ['msdyn_iotalertid', 'msdyn_alerttoken'], { filter });
    const byToken = new Map<string, string>();
    // Dataverse compares strings case-insensitively; tokens are matched exactly here.
    for (const r of rows) if (tokens.includes(str(r['msdyn_alerttoken']))) byToken.set(str(r['msdyn_alerttoken']), str(r['msdyn_iotalertid']));
    return byToken;
  }
}
