// The differential suite against memraft's in-memory engine.

import test from "ava";
import { startMemraft } from "../helpers/memraft-server.js";
import { scripts } from "./differential/scripts.js";
import { registerDifferentialSuite } from "./differential/suite.js";

registerDifferentialSuite("memory", () => startMemraft());

test("the differential suite has at least 150 scripts", (t) => {
  t.true(scripts.length >= 150, `${scripts.length} scripts`);
  const names = new Set(scripts.map((script) => script.name));
  t.is(names.size, scripts.length, "script names are unique");
});
