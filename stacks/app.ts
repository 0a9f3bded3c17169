/**
 * CDK entry (cdk.json runs it): reads `-c config=PATH` (default replication_config.json) and
 * `-c account=ID` (default CDK_DEFAULT_ACCOUNT, which the CLI sets from credentials; without
 * either, a placeholder account that synthesizes but cannot be deployed) and builds the app.
 * An invalid config prints the config module's message and fails the synth.
 */
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { ConfigError, formatIssue } from '../shared/config';
import { buildAppFromFile, BuildOptionsError } from './buildApp';

function main(): void {
  const app = new App();
  const configPath = path.resolve(String(app.node.tryGetContext('config') ?? 'replication_config.json'));
  const account = (app.node.tryGetContext('account') as string | undefined) ?? process.env.CDK_DEFAULT_ACCOUNT;
  const spotContext = app.node.tryGetContext('spot');
  try {
    const built = buildAppFromFile(configPath, { app, account: account ? String(account) : undefined, spot: spotContext === undefined ? true : String(spotContext) !== 'false' });
    for (const w of built.warnings) process.stderr.write(`warning: ${configPath}: ${formatIssue(w)}\n`);
    if (built.placeholderAccount) {
      process.stderr.write(`warning: no account given (-c account=... or AWS credentials); synthesized for placeholder account ${built.account}, which cannot be deployed\n`);
    }
  } catch (err) {
    if (err instanceof ConfigError || err instanceof BuildOptionsError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  app.synth();
}

if (require.main === module) main();
