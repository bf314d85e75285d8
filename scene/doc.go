// Package scene loads the scene description the server simulates: the named
// rigid objects of a venue, their shapes, physical properties, starting
// poses and grab rules, read from a line-oriented text file.
//
// # File format
//
// A scene file is UTF-8 text, read line by line (LF or CRLF line ends,
// lines at most MaxLineLen bytes). A '#' starts a comment that runs to the
// end of the line. Fields are separated by spaces and tabs; after comments
// are removed, blank lines are ignored and any other control character is an
// error. Keywords and keys are lower case. Each remaining line is one record:
//
//	name <text>                   the scene's name: required, exactly once
//	gravity x,y,z                 m/s², at most once; default 0,-9.81,0
//	object <name> key=value ...   one object
//
// The text of a name record is the rest of the line with leading and
// trailing spaces and tabs removed; it must not be empty. An object name is
// 1 to 64 ASCII letters, digits, '.', '_' or '-', and is unique in the scene.
//
// Values contain no spaces. A number is a Go floating-point literal
// (strconv.ParseFloat) that must be finite; a vector is three numbers
// separated by commas with nothing between them, e.g. 0,-9.81,0. Object
// keys, each given at most once, in any order:
//
//	id=N            entity id, 1..32767 (0x7fff); default: assigned, see below
//	shape=S         sphere, box or plane; required
//	radius=R        sphere radius, > 0; required for spheres, else not allowed
//	half=x,y,z      box half-extents, each > 0; required for boxes, else not allowed
//	normal=x,y,z    plane normal, not zero, normalized on load; required for
//	                planes, else not allowed
//	offset=D        plane offset; planes only; default 0
//	kind=K          dynamic, kinematic or static; default dynamic.
//	                Planes must say kind=static.
//	mass=M          kg, > 0; required for dynamic bodies, not allowed otherwise
//	restitution=E   0..1; default 0.5
//	friction=F      >= 0; default 0.5
//	pos=x,y,z       starting position of the centre, metres; default 0,0,0
//	euler=y,p,r     starting rotation as yaw, pitch, roll in degrees
//	quat=x,y,z,w    starting rotation as a quaternion, normalized on load;
//	                not zero. At most one of euler and quat; default identity.
//	grab=G          none, exclusive or shared; default none. Static bodies
//	                cannot be grabbed.
//	handoff=H       takeover or refuse; default takeover
//	reach=R         metres, 0 < R <= 2; default 0.15
//	grabber=B       true or false; default false
//	bullet=B        true or false; dynamic bodies only. Default true for a
//	                dynamic sphere with radius < 0.05 (AutoBulletRadius),
//	                false otherwise.
//	tag=W           a word like an object name; default empty
//
// A plane is the surface {p : normal·p = offset}; the half-space
// normal·p < offset is solid. pos, euler and quat are not allowed on planes.
// A box's half-extents are along its local axes, rotated by its pose.
//
// The euler rotation applies roll about Z, then pitch about X, then yaw about
// Y (q = yaw·pitch·roll, all about the venue axes, right-hand rule, Y up).
// A normal or quaternion whose squared length is within 1e-12 of 1 is kept
// exactly as written, so formatted scenes parse back bit for bit.
//
// grab says whether hands (and grabber objects) can pick the object up:
// exclusive allows one holder at a time, shared allows several. handoff says
// what happens when a second holder grabs an exclusive object already held:
// takeover moves it to the new holder, refuse keeps it with the first.
// reach is the farthest a grip point may be from the object's surface to
// grab it. grabber=true marks an object, like tongs, that can itself hold
// other objects; it must be grabbable. handoff, reach and grabber are not
// allowed with grab=none. bullet asks the physics for continuous collision
// detection, for small fast bodies. tag is free for clients and tools (ball,
// paddle, dart, block, puck, mallet, table, board, ...).
//
// Every object lies within the positions the wire format can carry,
// wire.PosMin..wire.PosMax (-32..31.9990234375 m) on each axis: its pos,
// the sphere or the rotated box around it at its starting pose (its
// axis-aligned bounds), and for a plane its point nearest the origin,
// normal × offset (with the normal normalized). Anything beyond is an error
// naming the object and the field (pos, radius, half or offset), not a pose
// clamped on the wire.
//
// Objects without an id get the smallest ids not given explicitly anywhere in
// the file, 1, 2, 3, ... in file order. Two objects with the same id or the
// same name are an error.
//
// Every error names the file, the line and, where there is one, the object
// and the field:
//
//	arena.scene:12: object "paddle-1": field half: want 3 comma-separated numbers, got "0.1,0.2"
//
// Example:
//
//	# A table with a ball on it.
//	name Ball table
//	gravity 0,-9.81,0
//	object floor shape=plane normal=0,1,0 kind=static tag=floor
//	object table shape=box half=0.5,0.02,0.5 pos=0,0.74,0 kind=static friction=0.3 tag=table
//	object ball  shape=sphere radius=0.02 mass=0.0027 restitution=0.9 pos=0,0.78,0 grab=exclusive tag=ball
//
// Format writes a scene back in this format, one object per line: id, shape
// and kind always, rotations as quat, and other keys only where their values
// differ from the defaults.
//
// Default returns the demo arcade embedded from demo.scene.
package scene
