import { describe, expect, it } from "vitest";
import { type Clock, Refresher } from "../src/refresher";

/** A clock whose timers run when the test says so. */
function fakeClock() {
  let next = 1;
  const timers = new Map<number, () => void>();
  const state = { visible: true };
  const clock: Clock = {
    setTimeout: (fn) => {
      const id = next++;
      timers.set(id, fn);
      return id;
    },
    clearTimeout: (id) => timers.delete(id as number),
    visible: () => state.visible,
  };
  const fire = () => {
    const pending = [...timers.entries()];
    timers.clear();
    pending.forEach(([, fn]) => fn());
  };
  return { clock, timers, state, fire };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

describe("the live refresh loop", () => {
  it("reloads at start, then one interval after each reload ends", async () => {
    const { clock, timers, fire } = fakeClock();
    let loads = 0;
    const r = new Refresher(async () => void loads++, 2000, clock);
    r.start();
    expect(loads).toBe(1);
    await tick();
    expect(timers.size).toBe(1);
    fire();
    expect(loads).toBe(2);
    await tick();
    r.stop();
    expect(timers.size).toBe(0);
  });

  it("never overlaps reloads: a reload asked for while one runs aborts the first", async () => {
    const { clock } = fakeClock();
    const signals: AbortSignal[] = [];
    const r = new Refresher((s) => {
      signals.push(s);
      return new Promise(() => undefined);
    }, 2000, clock);
    r.start();
    r.now();
    expect(signals.length).toBe(2);
    expect(signals[0].aborted).toBe(true);
    expect(signals[1].aborted).toBe(false);
    r.stop();
    expect(signals[1].aborted).toBe(true);
  });

  it("a paused loop reloads only when asked, and resuming reloads at once", async () => {
    const { clock, timers } = fakeClock();
    let loads = 0;
    const r = new Refresher(async () => void loads++, 2000, clock);
    r.start();
    await tick();
    r.setPaused(true);
    expect(timers.size).toBe(0);
    r.now();
    await tick();
    expect(loads).toBe(2);
    expect(timers.size).toBe(0);
    r.setPaused(false);
    expect(loads).toBe(3);
    r.stop();
  });

  it("a hidden page does not reload until it is visible again", async () => {
    const { clock, timers, state, fire } = fakeClock();
    let loads = 0;
    const r = new Refresher(async () => void loads++, 2000, clock);
    r.start();
    await tick();
    state.visible = false;
    fire();
    expect(loads).toBe(1);
    expect(timers.size).toBe(0);
    state.visible = true;
    r.visibilityChanged();
    expect(loads).toBe(2);
    r.stop();
  });

  it("keeps going after a failed reload", async () => {
    const { clock, timers, fire } = fakeClock();
    let loads = 0;
    const r = new Refresher(async () => {
      loads++;
      throw new Error("server down");
    }, 2000, clock);
    r.start();
    await tick();
    fire();
    await tick();
    expect(loads).toBe(2);
    expect(timers.size).toBe(1);
    r.stop();
  });
});
