// make bench: a CDK app equivalent to `make render` of dev and prod, to time CDK's synth beside it.
//
// It declares the same stacks, parameters, resources and outputs as the templates in the
// definition file (written by bench/bench.py from the generators' templates), each resource
// as a CDK L1 construct (CfnResource: the cheapest way CDK declares one), then synthesizes
// the cloud assembly into the out folder, as `cdk synth` runs an app.
//
// usage: node app.js <definition.json> <out folder>
"use strict";
const fs = require("fs");
const cdk = require("aws-cdk-lib");

const [definitionFile, outdir] = process.argv.slice(2);
const definition = JSON.parse(fs.readFileSync(definitionFile, "utf8"));
const app = new cdk.App({ outdir });
const raw = (value) => cdk.Token.asString(cdk.Lazy.any({ produce: () => value }));

for (const [stackName, template] of Object.entries(definition)) {
  const known = new Set(["AWSTemplateFormatVersion", "Description", "Metadata", "Parameters", "Resources", "Outputs"]);
  const unknown = Object.keys(template).filter((k) => !known.has(k));
  if (unknown.length) throw new Error(`${stackName}: the bench app does not declare ${unknown.join(", ")}`);
  const stack = new cdk.Stack(app, stackName, {
    synthesizer: new cdk.LegacyStackSynthesizer(), // no bootstrap parameter: the same template shape
    description: template.Description,
  });
  if (template.Metadata) stack.templateOptions.metadata = template.Metadata;
  for (const [name, p] of Object.entries(template.Parameters || {})) {
    new cdk.CfnParameter(stack, name, { type: p.Type, description: p.Description, default: p.Default });
  }
  for (const [logicalId, r] of Object.entries(template.Resources)) {
    const resource = new cdk.CfnResource(stack, logicalId, { type: r.Type, properties: r.Properties || {} });
    resource.overrideLogicalId(logicalId);
    for (const key of ["DeletionPolicy", "UpdateReplacePolicy", "Metadata", "DependsOn"]) {
      if (r[key] !== undefined) resource.addOverride(key, r[key]);
    }
  }
  for (const [name, o] of Object.entries(template.Outputs || {})) {
    new cdk.CfnOutput(stack, name, { value: raw(o.Value), description: o.Description });
  }
}
app.synth();
