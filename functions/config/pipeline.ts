/**
 * Everything the pipeline reads from config/, loaded and validated once, and turned into what the
 * handlers need: the planner, owner routing, the content library, sending settings.
 */
import { contactTimeZone, createCadencePlanner, ownerTimeZone, trackOfState } from '#domain/cadence';
import { compileGuardrails, type GuardrailRules } from '#domain/guardrails';
import type { SkipWeekRule } from '#domain/replies';
import type { RelationshipState } from '#domain/types';
import type { ContentItem, OwnerProfile, SenderSettings } from '#domain/email';
import type { Planner } from '#domain/planner';
import { loadConfig } from './load.ts';
import { loadMetricsConfig, type MetricsConfig } from './metrics.ts';
import { resolveOwner } from './owners.ts';
import type { CultivateConfig } from './schema.ts';
import { loadSendingConfig, type SendingConfig } from './sending.ts';

export interface PipelineConfig {
  rules: CultivateConfig;
  sending: SendingConfig;
  settings: SenderSettings;
  planner: Planner;
  owner(email: string | undefined): OwnerProfile;
  content(id: string | undefined): ContentItem | undefined;
  /** The skip-week rule of the relationship's track ("missed me"), if it has one. */
  skipWeek(state: RelationshipState): SkipWeekRule | undefined;
  /** cadence.yaml `guardrails`, compiled; with the zones the shared guardrails count in. */
  guardrails: GuardrailRules;
  contactZone(state: RelationshipState): string;
  ownerZone(state: RelationshipState): string;
  /** Who takes an overdue task of `ownerEmail`: their manager (routed past inactive ones), if any. */
  managerOf(ownerEmail: string): OwnerProfile | undefined;
  /** config/metrics.yaml (the holdout the relationship handler assigns at nurture entry); absent when not given. */
  metrics?: MetricsConfig;
}

export function pipelineConfig(rules: CultivateConfig, sending: SendingConfig, publicBaseUrl: string, configurationSetName?: string, metrics?: MetricsConfig): PipelineConfig {
  const byId = new Map(rules.content.items.map((i) => [i.id, i]));
  return {
    rules,
    ...(metrics && { metrics }),
    sending,
    settings: {
      sendingDomain: sending.sendingDomain,
      ...(sending.replyDomain && { replyDomain: sending.replyDomain }),
      publicBaseUrl,
      companyName: sending.companyName,
      postalAddress: sending.postalAddress,
      ...(configurationSetName && { configurationSetName }),
    },
    planner: createCadencePlanner(rules),
    owner: (email) => resolveOwner(rules.owners, email).owner,
    content: (id) => (id ? byId.get(id) : undefined),
    skipWeek: (state) => {
      const track = trackOfState(rules, state);
      return track?.weekly ? { weeklyCount: track.weekly.count, skipWeeks: track.skipWeeks } : undefined;
    },
    guardrails: compileGuardrails(rules.cadence.guardrails),
    contactZone: (state) => contactTimeZone(rules, state),
    ownerZone: (state) => ownerTimeZone(rules, state),
    managerOf: (ownerEmail) => {
      const key = ownerEmail.trim().toLowerCase();
      const manager = rules.owners.owners.find((o) => o.email.toLowerCase() === key)?.manager;
      if (!manager) return undefined;
      const routed = resolveOwner(rules.owners, manager).owner;
      return routed.email.toLowerCase() === key ? undefined : routed;
    },
  };
}

export function loadPipelineConfig(dir: string, publicBaseUrl: string, configurationSetName?: string): PipelineConfig {
  return pipelineConfig(loadConfig(dir), loadSendingConfig(dir), publicBaseUrl, configurationSetName, loadMetricsConfig(dir));
}
