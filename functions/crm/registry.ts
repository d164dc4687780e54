/** The CRM adapters Cultivate ships, and which of them the present settings switch on. */
import { hubspotDefinition } from './hubspot/index.ts';
import { pipedriveDefinition } from './pipedrive/index.ts';
import { salesforceDefinition } from './salesforce/index.ts';
import { missingSettings } from './settings.ts';
import type { CrmDefinition, CrmInboundAdapter, CrmName, CrmOutboundAdapter, CrmSettings } from './types.ts';

export const crmDefinitions: Readonly<Record<CrmName, CrmDefinition>> = {
  hubspot: hubspotDefinition,
  salesforce: salesforceDefinition,
  pipedrive: pipedriveDefinition,
};

export interface CrmRegistry {
  /** The inbound adapter, or the missing settings that keep it off. */
  inbound(crm: CrmName): { adapter: CrmInboundAdapter } | { missing: string[] };
  /** The inbound adapter when configured (the normaliser's view). */
  adapter(crm: CrmName): CrmInboundAdapter | undefined;
  /** Outbound adapters of every CRM whose API settings are present. */
  outbound(): CrmOutboundAdapter[];
  /** For the start-up banner and logs: which CRMs are on. */
  configured(): CrmName[];
}

export function crmRegistry(settings: CrmSettings, definitions: Readonly<Record<CrmName, CrmDefinition>> = crmDefinitions): CrmRegistry {
  const inboundCache = new Map<CrmName, CrmInboundAdapter>();
  const all = Object.values(definitions);
  const inbound = (crm: CrmName): { adapter: CrmInboundAdapter } | { missing: string[] } => {
    const def = definitions[crm];
    const missing = missingSettings(def, settings);
    if (missing.length > 0) return { missing };
    let adapter = inboundCache.get(crm);
    if (!adapter) {
      adapter = def.inbound(settings);
      inboundCache.set(crm, adapter);
    }
    return { adapter };
  };
  let outboundCache: CrmOutboundAdapter[] | undefined;
  return {
    inbound,
    adapter: (crm) => {
      const r = inbound(crm);
      return 'adapter' in r ? r.adapter : undefined;
    },
    outbound: () => {
      outboundCache ??= all.filter((d) => missingSettings(d, settings).length === 0).flatMap((d) => d.outbound(settings) ?? []);
      return outboundCache;
    },
    configured: () => all.filter((d) => missingSettings(d, settings).length === 0).map((d) => d.crm),
  };
}
