/**
 * The tributary policy pack: `pulumi preview --policy-pack policy --policy-pack-config policy/config.<stack>.json`.
 * The rules themselves are plain functions in rules.ts, which the tests and `npm run preview`
 * run offline over the mock engine's resources.
 */
import { PolicyPack } from "@pulumi/policy";
import { STAGES } from "../components/platform";
import { RULES, type Stage } from "./rules";

new PolicyPack("tributary", {
  policies: RULES.map((rule) => ({
    name: rule.name,
    description: rule.description,
    enforcementLevel: rule.enforcementLevel,
    configSchema: { properties: { stage: { type: "string", enum: [...STAGES], default: "dev" } } },
    validateStack: (args, reportViolation) => {
      const { stage } = args.getConfig<{ stage: Stage }>();
      const resources = args.resources.map((r) => ({
        type: r.type,
        name: r.name,
        urn: r.urn,
        props: r.props,
        ignoreChanges: r.opts.ignoreChanges,
      }));
      for (const violation of rule.check(resources, { stage })) reportViolation(violation.message, violation.urn);
    },
  })),
});
