/**
 * The CDK app: `npx cdk synth` / `npx cdk deploy`. cdk-nag's AWS Solutions pack runs as a
 * validation plugin; findings fail the synth unless fixed or acknowledged (with a reason) in lib/.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { CultivateStack } from '../lib/cultivate-stack.ts';
import { readSettings } from '../lib/settings.ts';

const app = new App();
const settings = readSettings(app);
new CultivateStack(app, 'Cultivate', {
  stackName: settings.stackName,
  description: 'Cultivate: serverless nurture pipeline',
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
