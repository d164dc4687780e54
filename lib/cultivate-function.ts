/**
 * The one place where Lambda defaults are set: Node 22 on arm64, X-Ray tracing, JSON logs into a
 * log group with retention, ESM bundles with the AWS SDK v3 clients inside, and typed helpers that
 * grant a permission and set the environment variable that names the resource in the same call.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CfnElement, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { NodejsFunction, OutputFormat, type ICommandHooks, type NodejsFunctionProps } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as ses from 'aws-cdk-lib/aws-ses';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { readSettings } from './settings.ts';
import { deadLetterQueue } from './dead-letter-queue.ts';

/** Repository root (this file is lib/cultivate-function.ts). */
export const projectRoot = fileURLToPath(new URL('..', import.meta.url));

/** Absolute path of a Lambda entry file under functions/lambda/. */
export function lambdaEntry(name: string): string {
  return fileURLToPath(new URL(`../functions/lambda/${name}.ts`, import.meta.url));
}

/** Lets CommonJS dependencies call `require` inside the ESM bundle. */
const esmRequireBanner =
  "import { createRequire as __cultivateCreateRequire } from 'node:module'; const require = __cultivateCreateRequire(import.meta.url);";

/** Folder (at the repository root) that `pipeline()` reads next to its bundle. */
export const CONFIG_DIR = 'config';

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * esbuild hooks that copy the repository's config/ folder into the bundle's output directory, where
 * `pipeline()` (functions/lambda/config.ts) reads it. The asset hash covers the output, so a config
 * change is a new deployment of every function that reads it.
 */
export const copyConfigHooks: ICommandHooks = {
  beforeBundling: () => [],
  beforeInstall: () => [],
  afterBundling: (inputDir: string, outputDir: string) => [
    `cp -r ${shellQuote(`${inputDir}/${CONFIG_DIR}`)} ${shellQuote(`${outputDir}/${CONFIG_DIR}`)}`,
  ],
};

/** For functions that call `pipeline()`: the config folder, the public base URL and the configuration set. */
export interface PipelineConfigBinding {
  /** The SES configuration set the sender names on every message (SES_CONFIGURATION_SET). */
  readonly configurationSet: ses.IConfigurationSet;
}

export type TableAccess = 'read' | 'readwrite' | 'write';

export interface BindTableOptions {
  readonly table: dynamodb.ITableV2;
  /**
   * `read`: GetItem, BatchGetItem, Query, Scan, ConditionCheckItem, DescribeTable.
   * `write`: PutItem and BatchWriteItem (claim-check inbox writes; no reads, no UpdateItem/DeleteItem).
   *   IAM cannot split BatchWriteItem into puts and deletes: a batch could delete; nothing else can.
   * `readwrite`: all data-plane reads and writes.
   */
  readonly access: TableAccess;
  /** Environment variable that receives the table name. @default TABLE_NAME */
  readonly envName?: string;
}

export interface CultivateFunctionProps extends Omit<NodejsFunctionProps, 'runtime' | 'architecture' | 'role'> {
  /** Lambda entry (absolute path), e.g. `lambdaEntry('ingest')`. */
  readonly entry: string;
  /**
   * For functions invoked asynchronously (EventBridge targets, S3, SNS...): create an encrypted,
   * SSL-only on-failure queue and set `retryAttempts: 2` and `maxEventAge`. @default false
   */
  readonly asyncInvoked?: boolean;
  /**
   * The function calls `pipeline()`: copy config/ next to the bundle and set CULTIVATE_PUBLIC_BASE_URL
   * (context `publicBaseUrl`) and SES_CONFIGURATION_SET. @default none
   */
  readonly pipelineConfig?: PipelineConfigBinding;
}

export class CultivateFunction extends NodejsFunction {
  /** The function's log group (retention from context `logRetentionDays`). */
  public readonly logGroupRef: logs.LogGroup;
  /** Present when `asyncInvoked`: the on-failure destination queue. */
  public readonly onFailureQueue: sqs.Queue | undefined;

  constructor(scope: Construct, id: string, props: CultivateFunctionProps) {
    const settings = readSettings(scope);
    const retention = toRetentionDays(settings.logRetentionDays);
    if (!existsSync(props.entry)) throw new Error(`CultivateFunction ${id}: entry file not found: ${props.entry}`);

    const logGroup = new logs.LogGroup(scope, `${id}Logs`, {
      retention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // Own role instead of AWSLambdaBasicExecutionRole: write access to this function's log group only.
    const role = new iam.Role(scope, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of the Cultivate ${id} function`,
    });
    logGroup.grantWrite(role);

    let onFailureQueue: sqs.Queue | undefined;
    if (props.asyncInvoked) {
      onFailureQueue = deadLetterQueue(scope, `${id}OnFailure`, 'an asynchronously invoked function (its on-failure destination)');
    }

    const { asyncInvoked: _asyncInvoked, pipelineConfig, bundling, environment, ...rest } = props;
    if (pipelineConfig && bundling?.commandHooks) {
      throw new Error(`CultivateFunction ${id}: pipelineConfig sets the bundling command hooks; do not pass your own`);
    }
    super(scope, id, {
      memorySize: 256,
      timeout: Duration.seconds(10),
      ...rest,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      role,
      tracing: lambda.Tracing.ACTIVE,
      loggingFormat: lambda.LoggingFormat.JSON,
      applicationLogLevelV2: lambda.ApplicationLogLevel.INFO,
      systemLogLevelV2: lambda.SystemLogLevel.INFO,
      logGroup,
      projectRoot,
      depsLockFilePath: fileURLToPath(new URL('../package-lock.json', import.meta.url)),
      ...(onFailureQueue
        ? {
            onFailure: new SqsDestination(onFailureQueue),
            retryAttempts: 2,
            maxEventAge: props.maxEventAge ?? Duration.hours(6),
          }
        : {}),
      environment: {
        POWERTOOLS_SERVICE_NAME: 'cultivate',
        NODE_OPTIONS: '--enable-source-maps',
        ...(pipelineConfig
          ? {
              CULTIVATE_PUBLIC_BASE_URL: settings.publicBaseUrl,
              SES_CONFIGURATION_SET: pipelineConfig.configurationSet.configurationSetName,
            }
          : {}),
        ...environment,
      },
      bundling: {
        minify: true,
        sourceMap: true,
        format: OutputFormat.ESM,
        target: 'node22',
        mainFields: ['module', 'main'],
        banner: esmRequireBanner,
        bundleAwsSDK: true,
        externalModules: [],
        ...(pipelineConfig ? { commandHooks: copyConfigHooks } : {}),
        ...bundling,
      },
    });
    this.logGroupRef = logGroup;
    this.onFailureQueue = onFailureQueue;

    Validations.of(this).acknowledge({
      id: 'AwsSolutions-L1',
      reason: 'Runtime pinned to nodejs22.x (the toolchain decision, see TOOLCHAIN.md); nodejs24.x is a deliberate upgrade.',
    });
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'Only X-Ray tracing (xray:PutTraceSegments, xray:PutTelemetryRecords), which supports no resource scoping.',
    });
  }

  /** Grants the table access and sets TABLE_NAME (or `envName`) in the same call. */
  bindTable({ table, access, envName = 'TABLE_NAME' }: BindTableOptions): this {
    switch (access) {
      case 'read':
        table.grantReadData(this);
        break;
      case 'write':
        table.grant(this, 'dynamodb:PutItem', 'dynamodb:BatchWriteItem');
        break;
      case 'readwrite':
        table.grantReadWriteData(this);
        break;
    }
    this.addEnvironment(envName, table.tableName);
    // Table grants include `<table>/index/*` so Query works on the GSIs (e.g. `due`).
    const cfnTable = table.node.defaultChild;
    if (cfnTable instanceof CfnElement && this.role) {
      const logicalId = Stack.of(cfnTable).getLogicalId(cfnTable);
      Validations.of(this.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${logicalId}.Arn>/index/*]`,
        reason: `Grants on ${table.node.id} cover its own secondary indexes only (data-plane actions listed, no action wildcard).`,
      });
    }
    return this;
  }

  /** Grants events:PutEvents on the bus and sets EVENT_BUS_NAME. */
  bindBus(bus: events.IEventBus): this {
    bus.grantPutEventsTo(this);
    this.addEnvironment('EVENT_BUS_NAME', bus.eventBusName);
    return this;
  }

  /** Grants read of the secret's value and sets `envName` to the secret's ARN. */
  bindSecret(envName: string, secret: secretsmanager.ISecret): this {
    secret.grantRead(this);
    this.addEnvironment(envName, secret.secretArn);
    return this;
  }
}

const allowedRetention = new Set<number>(
  Object.values(logs.RetentionDays).filter((v): v is number => typeof v === 'number'),
);

export function toRetentionDays(days: number): logs.RetentionDays {
  if (!allowedRetention.has(days)) {
    throw new Error(
      `logRetentionDays=${days} is not a CloudWatch Logs retention; use one of ${[...allowedRetention].sort((a, b) => a - b).join(', ')}`,
    );
  }
  return days as logs.RetentionDays;
}
