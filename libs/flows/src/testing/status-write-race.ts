import type { CrmCommandsPort } from '@fieldlink/ports';

/**
 * A race for tests: the CRM as one flow sees it, where another writer (`other`, on the CRM
 * itself) runs just before that flow's first command status write reaches the CRM, that is
 * after the flow read the command and decided what to write.
 */
export function otherWriterBeforeStatusWrite<Crm extends CrmCommandsPort>(crm: Crm, other: () => Promise<void>): Crm {
  let raced = false;
  return new Proxy(crm, {
    get: (target, prop, receiver) => {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      if (prop !== 'updateCommandStatus') return value.bind(target);
      return async (...args: Parameters<CrmCommandsPort['updateCommandStatus']>) => {
        if (!raced) {
          raced = true;
          await other();
        }
        return target.updateCommandStatus(...args);
      };
    },
  });
}

/**
 * The CRM as one flow sees it when the command it read is removed before its status writes reach
 * the CRM: reads go to `crm`, status writes to `without`, a CRM that does not hold the command.
 */
export function commandRemovedBeforeStatusWrite<Crm extends CrmCommandsPort>(crm: Crm, without: CrmCommandsPort): Crm {
  return new Proxy(crm, {
    get: (target, prop, receiver) => {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      if (prop !== 'updateCommandStatus') return value.bind(target);
      return (...args: Parameters<CrmCommandsPort['updateCommandStatus']>) => without.updateCommandStatus(...args);
    },
  });
}
