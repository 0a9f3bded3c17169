/** Test helper: builds and synthesizes one config variant once, and exposes its templates. */
import * as path from 'node:path';
import { App, type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { readConfig, type Config } from '../../shared/config';
import { buildApp, type BuiltApp } from '../../stacks/buildApp';

export const ACCOUNT = '123456789012';

/** A fixture path: `test/fixtures/NAME` or, for `replication_config.json`, the repo's example. */
export function fixturePath(name: string): string {
  return name === 'replication_config.json' ? path.resolve(__dirname, '..', '..', name) : path.resolve(__dirname, '..', 'fixtures', name);
}

export interface Variant extends BuiltApp {
  config: Config;
  /** The synthesized template of a stack (one synth of the whole app, shared). */
  template(stack: Stack): Template;
  /** cdk-nag AwsSolutions violations (rule and construct path) under a stack. */
  nagViolations(stack: Stack): string[];
}

/** Builds the app of a fixture (CloudFormation schema validation off for speed; cdk-nag on). */
export function synthVariant(fixture: string): Variant {
  return synthConfig(readConfig(fixturePath(fixture)).config);
}

/** Builds and synthesizes the app of a validated config (CloudFormation schema validation off for speed; cdk-nag on). */
export function synthConfig(config: Config): Variant {
  const app = new App({ builtinCloudFormationValidation: false });
  const built = buildApp(config, { app, account: ACCOUNT });
  const assembly = app.synth();
  const templates = new Map<string, Template>();
  return {
    ...built,
    config,
    template(stack) {
      let t = templates.get(stack.artifactId);
      if (!t) {
        t = Template.fromJSON(assembly.getStackArtifact(stack.artifactId).template);
        templates.set(stack.artifactId, t);
      }
      return t;
    },
    nagViolations(stack) {
      const report = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(stack);
      return report.violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath}`));
    },
  };
}

/** The resources of one type in a template, as [logicalId, properties]. */
export function resourcesOf(template: Template, type: string): [string, Record<string, any>][] {
  return Object.entries(template.findResources(type)).map(([id, r]) => [id, (r as { Properties: Record<string, any> }).Properties]);
}

/** Every IAM statement of the policies attached to roles whose logical id contains `rolePart`. */
export function statementsOf(template: Template, rolePart: string): Record<string, any>[] {
  return resourcesOf(template, 'AWS::IAM::Policy')
    .filter(([, p]) => (p.Roles as { Ref: string }[]).some((r) => r.Ref.includes(rolePart)))
    .flatMap(([, p]) => p.PolicyDocument.Statement as Record<string, any>[]);
}

/** The statements granting `action`, with their resources flattened to a list. */
export function resourcesGranted(statements: Record<string, any>[], action: string): unknown[] {
  return statements
    .filter((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]).includes(action))
    .flatMap((s) => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]));
}

/** The environment of the first container of a task definition, as a map. */
export function containerEnvironment(taskDefinition: Record<string, any>): Record<string, unknown> {
  const env = taskDefinition.ContainerDefinitions[0].Environment as { Name: string; Value: unknown }[];
  return Object.fromEntries(env.map((e) => [e.Name, e.Value]));
}
