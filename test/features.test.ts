// The features suite (capabilities, presence, typing, conversations) against a standalone instance.
import { describeFeatures, FEATURE_ENV } from "./support/feature-behaviour.ts";
import { standaloneTarget } from "./support/target.ts";

describeFeatures("standalone features", () => standaloneTarget(FEATURE_ENV));
