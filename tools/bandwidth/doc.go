// Command bandwidth measures what Arcade's multicast state stream costs on
// three scenes, at 60 and 120 Hz, for each registered encoder, with a
// simulated group of receivers losing datagrams, and prints a table (and
// optionally JSON).
//
//	bandwidth [--scene cubes,players,arcade] [--seconds 20] [--rates 60,120]
//	          [--encoders today,quantized,...] [--loss 0,0.05] [--receivers 16]
//	          [--rtt 4ms] [--settle 3] [--seed 1] [--json FILE]
//
// Every scene is generated offline from --seed, deterministically (not in
// real time); nothing is cached on disk.
//
// # Scenes
//
// cubes, after Glenn Fiedler's snapshot compression benchmark: 900 cubes of
// 0.2–0.4 m (uniform edge, 500 kg/m³, friction 0.6, restitution 0.2) are
// dropped from a 30 × 30 grid, 0.55 m apart, 0.4–1.6 m up, turned and
// spinning at random, onto a floor, where they tumble and settle, mostly
// apart, some touching. A kinematic 1 m player cube (entity 901) waits
// off the grid for 2 s, then drives a figure eight through it (x ±10 m, z
// ±6 m, one loop in 24 s, about 2.5–3 m/s, turned along its path) and hops
// 1.2 m every 5 s, landing on whatever is there. It is simulated with
// arcade/physics at 120 Hz with the default 4 sub-steps, once; the 60 Hz
// stream sends every other tick of the same run. Entities are ids 1..901
// with EntitySleeping when the body sleeps. The first --settle seconds (the
// drop) are simulated and sent, so receivers have baselines, but left out
// of the figures. 20 s take about 13 s to simulate on one core: the
// broad phase tests all pairs, so the drop, with every cube awake, costs
// most.
//
// players: 2 000 headsets on a 48 × 48 m venue floor (bases within ±20 m),
// each sending poses at 90 Hz (InputRate) from a random phase. A tick at
// time t/rate carries each headset's newest sample by then, with
// LastInputSeq that sample's seq and Tracking all tracked, so at 120 Hz a
// headset's record changes on 3 ticks of 4 and at 60 Hz on every tick
// (seq +1 or +2). A sample is a function of the headset and its number
// alone, the same at both rates. The motion model, per headset, with its
// own random amplitudes, periods and phases:
//
//   - 60 % walk: the body wanders from its base by two sines per axis
//     (amplitudes up to 2.5 m, periods 15–90 s: 0.28 m/s on average, 2 %
//     of the time above 0.6 m/s, never 1 m/s), facing where it goes; the gait (head bob 2.5 cm at 1.6–2 steps/s,
//     hands swinging ±15 cm in opposition) grows with speed up to 0.4 m/s. The others
//     stand, swaying a few centimetres, turning slowly (±0.3–0.8 rad over
//     20–40 s).
//   - Head at 1.55–1.85 m, looking around: yaw from two sines (±0.2–0.6
//     rad over 3–10 s, ±0.05–0.15 rad over 0.8–2 s), pitch ±0.05–0.2 rad,
//     a little roll.
//   - Hands 22 cm either side, 60 cm below the head, 20 cm forward, in the
//     body's frame, gesturing by a sine per axis (3–12 cm, 0.7–4 s) and
//     turning by a sine per axis (0.1–0.5 rad, 1–5 s).
//   - Tracking noise on every pose of every sample: 0.3 mm per position
//     axis and 1 mrad of rotation (standard deviations).
//
// The players trace is computed as it is read (2 000 × 3 poses at 90 Hz;
// kept in memory it would take 0.5 GB at 120 Hz).
//
// arcade: the demo scene (scene.Default, scene/demo.scene) run through
// arcade/sim, with physics, at the stream's rate, with 16 headsets moving
// as above: six stand at paddle-1, paddle-2, mallet-1, mallet-2, block-1
// and dart-1 and hold it in the right hand from the start (grabbed by
// request, as the GrabRequest RPC does; the headset is moved so its hand
// starts on the object), so those entities move with the hand, flagged
// EntityHeld; ten walk about the room (bases within ±4 m, wandering up to
// 1.5 m). Inputs are applied with sim.World.ApplyInput as they are sent,
// before the tick that follows. Entities are the scene's 24 non-static
// objects, as the server's World.Entities lists them.
//
// # Encoders
//
// An Encoder turns each tick's state into datagram bodies (see Encoder and
// Held); RegisterEncoder adds one by name. today is wire.Snapshot parts
// split exactly as the server does today (players first, then entities,
// whole records while they fit MaxBodySize; the state hash every 12 ticks;
// no venue passphrase), each body made by Snapshot.Append. quantized sends
// every record every tick, bit-packed at today's quantization and nothing
// else: 86 bits a pose (3 × 16 position, 2 + 3 × 12 rotation), entities
// flags (8) and pose, ids implicit while a datagram's are consecutive, 16
// bits each otherwise; players id 16, seq 32, tracking 8 and three poses;
// 12 bytes of datagram header (tick, part, parts, counts, a flag byte,
// the first id). delta is the server's bit-packed StateDelta stream
// against the group's baseline (statesync.Group), with unicast repairs;
// delta+budget the same held to --budget. coded is the stream the server
// sends clients that decode coded payloads (wire.DeltaCoded,
// docs/PROTOCOL.md §10.4): range-coded, the avatars' rotations on the
// avatar grid, and poses predicted from a prior tick every receiver holds
// (statesync.Group.Prior); coded+budget is coded under --budget (the
// budget reckons records at their bit-packed cost, an upper bound);
// coded-fine is coded with the avatars on the wire's own grid, to show
// what the avatar grid saves. The delta coders decode at their own
// receivers and code against what those acknowledged.
//
// # Receivers
//
// --receivers receivers each lose each datagram with probability --loss,
// independently (a seeded stream per receiver). A receiver holds a tick
// when every datagram of it arrived. After every tick each receiver sends
// an acknowledgement of the datagrams it got in the last 64 ticks, lost
// with the same probability; the sender sees it from the first tick at or
// after the tick's send time plus --rtt (and never the same tick). So at
// 4 ms and 60 or 120 Hz an acknowledgement is seen one tick later.
//
// # Figures
//
// Per scene, rate, encoder and loss: kbps of the bodies alone, with the
// 22-byte Arcade header per datagram, and with IPv4 and UDP (28 bytes)
// as well; means over the measured ticks, p95 over one-second windows;
// body bytes and datagrams per tick; the share of (receiver, tick) pairs
// complete; and how old the newest tick every receiver acknowledged is
// when a tick is sent, or how often there is none (within 256 ticks).
// Beside the cubes rows at 60 Hz stand Fiedler's published figures for his
// scene, which count payload only: compare them with "kbps body".
package main
