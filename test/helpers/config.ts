/**
 * Config variants for tests. `emailCadenceOnly` is the shipped playbook without its human
 * rhythms (`humanTouches`): the tests of the e-mail cadence (thank-you, permission ask, weekly,
 * skip week, monthly, quiet sunset) check its touches one by one, and a quarterly call between
 * them would only shift their indexes. The rhythms, and that they never disturb the e-mails, are
 * tested with the shipped playbook itself (test/unit/human-touches*.test.ts).
 */
export { withoutHumanTouches as emailCadenceOnly } from '#domain/cadence';
