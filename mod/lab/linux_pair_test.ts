import assert from "node:assert/strict";
import { cmd, linuxMissing, linuxPairDir, mustCmd, parseNotifyLog } from "./linux_pair.ts";

Deno.test("linuxMissing names the scripts' directory when they are not there", () => {
  const before = Deno.env.get("TANDEM_LINUX_PAIR");
  Deno.env.set("TANDEM_LINUX_PAIR", "/nonexistent/linux-pair");
  try {
    assert.equal(linuxPairDir(), "/nonexistent/linux-pair");
    assert.equal(
      linuxMissing(),
      "Linux reference pair scripts not found in /nonexistent/linux-pair (set TANDEM_LINUX_PAIR)",
    );
  } finally {
    if (before === undefined) Deno.env.delete("TANDEM_LINUX_PAIR");
    else Deno.env.set("TANDEM_LINUX_PAIR", before);
  }
});

Deno.test("mustCmd throws with the command, exit code and stderr; cmd never throws", async () => {
  await assert.rejects(mustCmd(["sh", "-c", "echo nope >&2; exit 4"], 5000), /exit 4: nope/);
  assert.equal(await mustCmd(["sh", "-c", "echo yes"], 5000), "yes\n");
  assert.equal((await cmd([], 1000)).code, 127);
});

Deno.test("parseNotifyLog: the first primary at or after a time", () => {
  assert.equal(parseNotifyLog("10.5 backup\n11.25 primary\n", 0), 11250);
  assert.equal(parseNotifyLog("11.25 primary\n", 12000), undefined);
});
