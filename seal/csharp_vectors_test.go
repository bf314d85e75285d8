package seal

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"encoding/hex"
	"flag"
	"fmt"
	"github.com/arcadexr/arcade/internal/detrand"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/gtank/ristretto255"
)

// The vectors of testdata/csharp are what a second implementation of this
// package's cryptography (the C# client SDK, sdk/unity/Runtime/Crypto)
// must reproduce: one vector a line, "kind field field …", fields in hex
// ("-" for empty; u64 values little-endian, as on the wire), verdicts 1
// or 0, "#" comments. Published vectors (RFC 9496,
// RFC 8032, McGrew–Viega GCM, RFC 5869) are written only after the Go
// implementations reproduce them; the rest are computed here with fixed
// random sources. TestCSharpVectors checks every line of the files
// against the Go implementations on every run; -update-csharp rewrites
// them first.
var updateCSharp = flag.Bool("update-csharp", false, "rewrite testdata/csharp/*.txt")

const csharpDir = "testdata/csharp"

type vecFile struct {
	name string
	b    strings.Builder
}

func (f *vecFile) comment(format string, args ...any) {
	fmt.Fprintf(&f.b, "# "+format+"\n", args...)
}

// line writes kind and fields; []byte fields go in hex, "-" when empty.
func (f *vecFile) line(kind string, fields ...any) {
	f.b.WriteString(kind)
	for _, x := range fields {
		f.b.WriteByte(' ')
		switch v := x.(type) {
		case []byte:
			if len(v) == 0 {
				f.b.WriteByte('-')
			} else {
				f.b.WriteString(hex.EncodeToString(v))
			}
		case uint64: // u64 little-endian, as on the wire
			f.b.WriteString(hex.EncodeToString(binary.LittleEndian.AppendUint64(nil, v)))
		case bool:
			if v {
				f.b.WriteByte('1')
			} else {
				f.b.WriteByte('0')
			}
		default:
			panic(fmt.Sprintf("field type %T", x))
		}
	}
	f.b.WriteByte('\n')
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func detBytes(r io.Reader, n int) []byte {
	b := make([]byte, n)
	io.ReadFull(r, b)
	return b
}

// rfc9496Multiples are the encodings of 0·G … 15·G, RFC 9496 A.1.
var rfc9496Multiples = []string{
	"0000000000000000000000000000000000000000000000000000000000000000",
	"e2f2ae0a6abc4e71a884a961c500515f58e30b6aa582dd8db6a65945e08d2d76",
	"6a493210f7499cd17fecb510ae0cea23a110e8d5b901f8acadd3095c73a3b919",
	"94741f5d5d52755ece4f23f044ee27d5d1ea1e2bd196b462166b16152a9d0259",
	"da80862773358b466ffadfe0b3293ab3d9fd53c5ea6c955358f568322daf6a57",
	"e882b131016b52c1d3337080187cf768423efccbb517bb495ab812c4160ff44e",
	"f64746d3c92b13050ed8d80236a7f0007c3b3f962f5ba793d19a601ebb1df403",
	"44f53520926ec81fbd5a387845beb7df85a96a24ece18738bdcfa6a7822a176d",
	"903293d8f2287ebe10e2374dc1a53e0bc887e592699f02d077d5263cdd55601c",
	"02622ace8f7303a31cafc63f8fc48fdc16e1c8c8d234b2f0d6685282a9076031",
	"20706fd788b2720a1ed2a5dad4952b01f413bcf0e7564de8cdc816689e2db95f",
	"bce83f8ba5dd2fa572864c24ba1810f9522bc6004afe95877ac73241cafdab42",
	"e4549ee16b9aa03099ca208c67adafcafa4c3f3e4e5303de6026e3ca8ff84460",
	"aa52e000df2e16f55fb1032fc33bc42742dad6bd5a8fc0be0167436c5948501f",
	"46376b80f409b29dc2b5f6f0c52591990896e5716f41477cd30085ab7f10301e",
	"e0c418f7c8d9c4cdd7395b93ea124f3ad99021bb681dfc3302a9d99a2e53e64e",
}

// rfc9496Bad are RFC 9496 A.2's invalid encodings: non-canonical, negative,
// nonsquare x^2, negative xy, and s = -1 (y = 0).
var rfc9496Bad = []string{
	"00ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
	"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	"f3ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	"0100000000000000000000000000000000000000000000000000000000000000",
	"01ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	"ed57ffd8c914fb201471d1c3d245ce3c746fcbe63a3679d51b6a516ebebe0e20",
	"c34c4e1826e5d403b78e246e88aa051c36ccf0aafebffe137d148a2bf9104562",
	"c940e5a4404157cfb1628b108db051a8d439e1a421394ec4ebccb9ec92a8ac78",
	"47cfc5497c53dc8e61c91d17fd626ffb1c49e2bca94eed052281b510b1117a24",
	"f1c6165d33367351b0da8f6e4511010c68174a03b6581212c71c0e1d026c3c72",
	"87260f7a2f12495118360f02c26a470f450dadf34a413d21042b43b9d93e1309",
	"26948d35ca62e643e26a83177332e6b6afeb9d08e4268b650f1f5bbd8d81d371",
	"4eac077a713c57b4f4397629a4145982c661f48044dd3f96427d40b147d9742f",
	"de6a7b00deadc788eb6b6c8d20c0ae96c2f2019078fa604fee5b87d6e989ad7b",
	"bcab477be20861e01e4a0e295284146a510150d9817763caf1a6f4b422d67042",
	"2a292df7e32cababbd9de088d1d1abec9fc0440f637ed2fba145094dc14bea08",
	"f4a9e534fc0d216c44b218fa0c42d99635a0127ee2e53c712f70609649fdff22",
	"8268436f8c4126196cf64b3c7ddbda90746a378625f9813dd9b8457077256731",
	"2810e5cbc2cc4d4eece54f61c6f69758e289aa7ab440b3cbeaa21995c2f4232b",
	"3eb858e78f5a7254d8c9731174a94f76755fd3941c0ac93735c07ba14579630e",
	"a45fdc55c76448c049a1ab33f17023edfb2be3581e9c7aade8a6125215e04220",
	"d483fe813c6ba647ebbfd3ec41adca1c6130c2beeee9d9bf065c8d151c5f396e",
	"8a2e1d30050198c65a54483123960ccc38aef6848e1ec8f5f780e8523769ba32",
	"32888462f8b486c68ad7dd9610be5192bbeaf3b443951ac1a8118419d9fa097b",
	"227142501b9d4355ccba290404bde41575b037693cef1f438c47f8fbf35d1165",
	"5c37cc491da847cfeb9281d407efc41e15144c876e0170b499a96a22ed31e01e",
	"445425117cb8c90edcbc7c1cc0e74f747f2c1efa5630a967c64f287792a48a4b",
	"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
}

// rfc9496Labels are RFC 9496 A.3's inputs: the map's input is SHA-512 of
// each, and the element's encoding follows it.
var rfc9496Labels = [][2]string{
	{"Ristretto is traditionally a short shot of espresso coffee", "3066f82a1a747d45120d1740f14358531a8f04bbffe6a819f86dfe50f44a0a46"},
	{"made with the normal amount of ground coffee but extracted with", "f26e5b6f7d362d2d2a94c5d0e7602cb4773c95a2e5c31a64f133189fa76ed61b"},
	{"about half the amount of water in the same amount of time", "006ccd2a9e6867e6a2c5cea83d3302cc9de128dd2a9a57dd8ee7b9d7ffe02826"},
	{"by using a finer grind.", "f8f0c87cf237953c5890aec3998169005dae3eca1fbb04548c635953c817f92a"},
	{"This produces a concentrated shot of coffee per volume.", "ae81e7dedf20a497e10c304a765c1767a42d6e06029758d2d7e8ef7cc4c41179"},
	{"Just pulling a normal shot short will produce a weaker shot", "e2705652ff9f5e44d3e841bf1c251cf7dddb77d140870d1ab2ed64f1a9ce8628"},
	{"and is not a Ristretto as some believe.", "80bd07262511cdde4863f8a7434cef696750681cb9510eea557088f76d9e5065"},
}

// reducedScalar is s (32 bytes, any value) mod the group order.
func reducedScalar(s []byte) *ristretto255.Scalar {
	wide := make([]byte, 64)
	copy(wide, s)
	return ristretto255.NewScalar().FromUniformBytes(wide)
}

func genRistretto(t *testing.T) *vecFile {
	f := &vecFile{name: "ristretto255.txt"}
	f.comment("ristretto255 (RFC 9496) for the C# SDK; regenerate with: go test ./seal -run CSharpVectors -args -update-csharp")
	f.comment("multiple K ENC: ENC = K·G (RFC 9496 A.1)")
	for k, s := range rfc9496Multiples {
		f.line("multiple", []byte{byte(k)}, mustHex(s))
	}
	f.comment("bad ENC: not a valid encoding (RFC 9496 A.2)")
	for _, s := range rfc9496Bad {
		f.line("bad", mustHex(s))
	}
	f.comment("map IN64 ENC: ENC = the one-way map of IN64 (RFC 9496 A.3: IN64 = SHA-512 of its labels; then fixed random inputs)")
	for _, l := range rfc9496Labels {
		h := sha512.Sum512([]byte(l[0]))
		f.line("map", h[:], mustHex(l[1]))
	}
	r := detrand.New("csharp ristretto255")
	for i := 0; i < 16; i++ {
		in := detBytes(r, 64)
		if i == 0 {
			for j := range in {
				in[j] = 0xff
			}
		}
		e := ristretto255.NewElement().FromUniformBytes(in)
		f.line("map", in, e.Encode(nil))
	}
	f.comment("scalarmult S P SP: SP = (S mod L)·P, S any 32 bytes")
	for i := 0; i < 24; i++ {
		s := detBytes(r, 32)
		switch i {
		case 0:
			s = make([]byte, 32) // zero: the identity
		case 1:
			s = make([]byte, 32)
			s[0] = 1
		case 2:
			for j := range s {
				s[j] = 0xff // far above L
			}
		case 3:
			s[31] &= 0x0f // as CPace draws them
		}
		p := ristretto255.NewElement().FromUniformBytes(detBytes(r, 64))
		sp := ristretto255.NewElement().ScalarMult(reducedScalar(s), p)
		f.line("scalarmult", s, p.Encode(nil), sp.Encode(nil))
	}
	f.comment("add P Q PQ: PQ = P + Q")
	for i := 0; i < 8; i++ {
		p := ristretto255.NewElement().FromUniformBytes(detBytes(r, 64))
		q := ristretto255.NewElement().FromUniformBytes(detBytes(r, 64))
		if i == 0 {
			q = ristretto255.NewElement().Add(p, ristretto255.NewElement().Zero()) // doubling
		}
		f.line("add", p.Encode(nil), q.Encode(nil), ristretto255.NewElement().Add(p, q).Encode(nil))
	}
	f.comment("decode ENC OK: whether ENC decodes (random bytes, and random bytes with the top bit and the sign cleared)")
	for i := 0; i < 32; i++ {
		b := detBytes(r, 32)
		if i%2 == 1 {
			b[31] &= 0x7f
			b[0] &= 0xfe
		}
		f.line("decode", b, ristretto255.NewElement().Decode(b) == nil)
	}
	return f
}

func checkRistretto(t *testing.T, n int, kind string, x [][]byte) {
	dec := func(b []byte) *ristretto255.Element {
		e := ristretto255.NewElement()
		if err := e.Decode(b); err != nil {
			t.Fatalf("ristretto255.txt:%d: %x: %v", n, b, err)
		}
		return e
	}
	switch kind {
	case "multiple":
		k := x[0][0]
		s := make([]byte, 32)
		s[0] = k
		got := ristretto255.NewElement().ScalarBaseMult(reducedScalar(s)).Encode(nil)
		if !bytes.Equal(got, x[1]) {
			t.Errorf("ristretto255.txt:%d: %d·G = %x", n, k, got)
		}
	case "bad":
		if ristretto255.NewElement().Decode(x[0]) == nil {
			t.Errorf("ristretto255.txt:%d: %x decodes", n, x[0])
		}
	case "map":
		got := ristretto255.NewElement().FromUniformBytes(x[0]).Encode(nil)
		if !bytes.Equal(got, x[1]) {
			t.Errorf("ristretto255.txt:%d: map = %x", n, got)
		}
	case "scalarmult":
		got := ristretto255.NewElement().ScalarMult(reducedScalar(x[0]), dec(x[1])).Encode(nil)
		if !bytes.Equal(got, x[2]) {
			t.Errorf("ristretto255.txt:%d: s·P = %x", n, got)
		}
	case "add":
		got := ristretto255.NewElement().Add(dec(x[0]), dec(x[1])).Encode(nil)
		if !bytes.Equal(got, x[2]) {
			t.Errorf("ristretto255.txt:%d: P+Q = %x", n, got)
		}
	case "decode":
		if ok := ristretto255.NewElement().Decode(x[0]) == nil; ok != (string(x[1]) == "1") {
			t.Errorf("ristretto255.txt:%d: decode %v", n, ok)
		}
	default:
		t.Fatalf("ristretto255.txt:%d: kind %q", n, kind)
	}
}

// edOrder is L, little-endian, for the non-canonical S cases.
var edOrder = mustHex("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010")

func addLE(a, b []byte) []byte {
	out := make([]byte, len(a))
	c := 0
	for i := range a {
		s := int(a[i]) + int(b[i]) + c
		out[i] = byte(s)
		c = s >> 8
	}
	return out
}

func genEd25519(t *testing.T) *vecFile {
	f := &vecFile{name: "ed25519.txt"}
	f.comment("Ed25519 (RFC 8032) signatures for the C# SDK, each with Go's crypto/ed25519 verdict; regenerate with: go test ./seal -run CSharpVectors -args -update-csharp")
	f.comment("verify PUB MSG SIG OK")
	f.comment("the first 64 of SUPERCOP's sign.input (Go's crypto/ed25519/testdata; the first three are RFC 8032 7.1 TEST 1-3)")
	gz, err := os.Open(filepath.Join(runtime.GOROOT(), "src", "crypto", "ed25519", "testdata", "sign.input.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer gz.Close()
	zr, err := gzip.NewReader(gz)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(zr)
	sc.Buffer(nil, 1<<20)
	for i := 0; i < 64 && sc.Scan(); i++ {
		p := strings.Split(sc.Text(), ":")
		pub, msg, sig := mustHex(p[1]), mustHex(p[2]), mustHex(p[3])[:64]
		f.line("verify", pub, msg, sig, ed25519.Verify(pub, msg, sig))
	}
	r := detrand.New("csharp ed25519")
	f.comment("fixed random keys and messages (0 to 1200 bytes), signed by Go")
	var keys []ed25519.PrivateKey
	for _, n := range []int{0, 1, 31, 64, 127, 128, 129, 600, 1136, 1200} {
		_, priv, _ := ed25519.GenerateKey(r)
		keys = append(keys, priv)
		msg := detBytes(r, n)
		sig := ed25519.Sign(priv, msg)
		f.line("verify", []byte(priv.Public().(ed25519.PublicKey)), msg, sig, ed25519.Verify(priv.Public().(ed25519.PublicKey), msg, sig))
	}
	f.comment("forgeries: a flipped bit in R, S, the message or the key; S + L (non-canonical); high bits of S; another key")
	priv := keys[3]
	pub := []byte(priv.Public().(ed25519.PublicKey))
	msg := detBytes(r, 100)
	sig := ed25519.Sign(priv, msg)
	for _, bit := range []int{0, 7, 100, 255, 256, 300, 500, 511} {
		s := bytes.Clone(sig)
		s[bit/8] ^= 1 << (bit % 8)
		f.line("verify", pub, msg, s, ed25519.Verify(pub, msg, s))
	}
	for _, bit := range []int{0, 400, 799} {
		m := bytes.Clone(msg)
		m[bit/8] ^= 1 << (bit % 8)
		f.line("verify", pub, m, sig, ed25519.Verify(pub, m, sig))
	}
	for _, bit := range []int{0, 100, 254, 255} {
		p := bytes.Clone(pub)
		p[bit/8] ^= 1 << (bit % 8)
		f.line("verify", p, msg, sig, ed25519.Verify(p, msg, sig))
	}
	sPlusL := bytes.Clone(sig)
	copy(sPlusL[32:], addLE(sig[32:], edOrder))
	f.line("verify", pub, msg, sPlusL, ed25519.Verify(pub, msg, sPlusL))
	for _, hi := range []byte{0x20, 0x40, 0x80, 0xe0} {
		s := bytes.Clone(sig)
		s[63] |= hi
		f.line("verify", pub, msg, s, ed25519.Verify(pub, msg, s))
	}
	other := []byte(keys[4].Public().(ed25519.PublicKey))
	f.line("verify", other, msg, sig, ed25519.Verify(other, msg, sig))
	f.comment("edge keys: the identity (canonical, y = 1 + p, and x = 0 with the sign bit), the point of order 4 (y = 0),")
	f.comment("a y with no x, y = p (non-canonical 0): R = s·B, S = s, so [S]B - [k]A = R where A has small order and k kills it")
	identity := mustHex("0100000000000000000000000000000000000000000000000000000000000000")
	identityP := mustHex("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")
	identityNeg := mustHex("0100000000000000000000000000000000000000000000000000000000000080")
	order4 := mustHex("0000000000000000000000000000000000000000000000000000000000000000")
	noX := mustHex("0200000000000000000000000000000000000000000000000000000000000000")
	yIsP := mustHex("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")
	for i, k := range [][]byte{identity, identityP, identityNeg, order4, order4, order4, order4, noX, yIsP} {
		// R = a·B for the clamped secret scalar a of a seed, S = a mod L.
		seed := detBytes(r, 32)
		R := []byte(ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey))
		h := sha512.Sum512(seed)
		h[0] &= 248
		h[31] &= 127
		h[31] |= 64
		s := append(R, reducedScalar(h[:32]).Encode(nil)...)
		m := []byte(fmt.Sprintf("edge key %d", i))
		f.line("verify", k, m, s, ed25519.Verify(k, m, s))
	}
	return f
}

func genGCM(t *testing.T) *vecFile {
	f := &vecFile{name: "aesgcm.txt"}
	f.comment("AES-128-GCM for the C# SDK; regenerate with: go test ./seal -run CSharpVectors -args -update-csharp")
	f.comment("gcm KEY NONCE AD PLAIN SEALED: SEALED = ciphertext ‖ tag")
	f.comment("McGrew and Viega, \"The Galois/Counter Mode of Operation\", test cases 1-4 (AES-128)")
	k3 := mustHex("feffe9928665731c6d6a8f9467308308")
	iv3 := mustHex("cafebabefacedbaddecaf888")
	p3 := mustHex("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255")
	c3 := mustHex("42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985")
	published := [][5][]byte{
		{make([]byte, 16), make([]byte, 12), nil, nil, mustHex("58e2fccefa7e3061367f1d57a4e7455a")},
		{make([]byte, 16), make([]byte, 12), nil, make([]byte, 16), mustHex("0388dace60b6a392f328c2b971b2fe78ab6e47d42cec13bdf53a67b21257bddf")},
		{k3, iv3, nil, p3, append(bytes.Clone(c3), mustHex("4d5c2af327cd64a62cf35abd2ba6fab4")...)},
		{k3, iv3, mustHex("feedfacedeadbeeffeedfacedeadbeefabaddad2"), p3[:60], append(bytes.Clone(c3[:60]), mustHex("5bc94fbc3221a5db94fae95ae7121a47")...)},
	}
	for i, v := range published {
		if got := gcmSeal(v[0], v[1], v[2], v[3]); !bytes.Equal(got, v[4]) {
			t.Fatalf("GCM test case %d: Go gives %x", i+1, got)
		}
		f.line("gcm", v[0], v[1], v[2], v[3], v[4])
	}
	f.comment("fixed random keys, nonces, additional data (0-40 bytes) and plaintexts (0-1200 bytes)")
	r := detrand.New("csharp gcm")
	for _, n := range []int{0, 1, 15, 16, 17, 31, 32, 33, 64, 100, 255, 256, 600, 1199, 1200, 1264, 1300} {
		key, nonce := detBytes(r, 16), detBytes(r, 12)
		ad := detBytes(r, n%41)
		plain := detBytes(r, n)
		f.line("gcm", key, nonce, ad, plain, gcmSeal(key, nonce, ad, plain))
	}
	return f
}

func gcmSeal(key, nonce, ad, plain []byte) []byte {
	b, err := aes.NewCipher(key)
	if err != nil {
		panic(err)
	}
	a, err := cipher.NewGCM(b)
	if err != nil {
		panic(err)
	}
	return a.Seal(nil, nonce, plain, ad)
}

func genHKDF(t *testing.T) *vecFile {
	f := &vecFile{name: "hkdf.txt"}
	f.comment("HKDF-SHA256 for the C# SDK; regenerate with: go test ./seal -run CSharpVectors -args -update-csharp")
	f.comment("hkdf IKM SALT INFO PRK OKM (RFC 5869 A.1-A.3, then fixed random inputs)")
	seq := func(from, n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(from + i)
		}
		return b
	}
	ikm := bytes.Repeat([]byte{0x0b}, 22)
	published := [][5][]byte{
		{ikm, seq(0, 13), seq(0xf0, 10), mustHex("077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5"),
			mustHex("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865")},
		{seq(0, 80), seq(0x60, 80), seq(0xb0, 80), mustHex("06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244"),
			mustHex("b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87")},
		{ikm, nil, nil, mustHex("19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04"),
			mustHex("8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8")},
	}
	for i, v := range published {
		prk, okm := hkdfBoth(v[0], v[1], v[2], len(v[4]))
		if !bytes.Equal(prk, v[3]) || !bytes.Equal(okm, v[4]) {
			t.Fatalf("RFC 5869 A.%d: Go gives %x %x", i+1, prk, okm)
		}
		f.line("hkdf", v[0], v[1], v[2], v[3], v[4])
	}
	r := detrand.New("csharp hkdf")
	for _, n := range []int{1, 16, 32, 33, 64, 100} {
		ikm, salt, info := detBytes(r, 64), detBytes(r, n%40), detBytes(r, n%25)
		prk, okm := hkdfBoth(ikm, salt, info, n)
		f.line("hkdf", ikm, salt, info, prk, okm)
	}
	return f
}

func hkdfBoth(ikm, salt, info []byte, n int) (prk, okm []byte) {
	prk, err := hkdf.Extract(sha256.New, ikm, salt)
	if err != nil {
		panic(err)
	}
	okm, err = hkdf.Expand(sha256.New, prk, string(info), n)
	if err != nil {
		panic(err)
	}
	return prk, okm
}

// handshakeCase is one client handshake with fixed inputs: what the C#
// client must compute from them.
type handshakeCase struct {
	clientPass, serverPass string
	label                  string
}

func genHandshake(t *testing.T) *vecFile {
	f := &vecFile{name: "handshake.txt"}
	f.comment("The venue passphrase handshake (docs/PROTOCOL.md §17) for the C# SDK; regenerate with: go test ./seal -run CSharpVectors -args -update-csharp")
	f.comment("handshake PASS_CLIENT PASS_SERVER COOKIE NONCE TOKEN YA_SCALAR YB_SCALAR SERVER_KEY GROUP_KEY YA YB TAG WRAPPED OK ISK C2S S2C")
	f.comment("  passphrases UTF-8; NONCE, TOKEN u64 LE; OK whether the client accepts (same passphrase);")
	f.comment("  ISK, C2S, S2C the client's, \"-\" when it does not accept")
	long := strings.Repeat("Ünïcödé passphrase, long enough that its length takes two LEB128 bytes ", 2)
	cases := []handshakeCase{
		{testPassphrase, testPassphrase, "a"},
		{long, long, "b"},
		{"x", "x", "c"},
		{"wrong guess", testPassphrase, "d"},
		{testPassphrase, testPassphrase + " ", "e"},
	}
	for _, c := range cases {
		r := detrand.New("csharp handshake " + c.label)
		cookie := detBytes(r, 32)
		nonce := binary.LittleEndian.Uint64(detBytes(r, 8))
		token := binary.LittleEndian.Uint64(detBytes(r, 8))
		g, err := NewServerGroup(token, detrand.New("csharp group "+c.label))
		if err != nil {
			t.Fatal(err)
		}
		ya := detBytes(detrand.New("csharp client "+c.label), 32)
		ya[31] &= 0x0f
		yb := detBytes(detrand.New("csharp server "+c.label), 32)
		yb[31] &= 0x0f
		ch, err := NewClientHandshake(c.clientPass, nonce, cookie, bytes.NewReader(ya))
		if err != nil {
			t.Fatal(err)
		}
		msgA := ch.Message()
		a, _, err := ServerHandshake(c.serverPass, nonce, cookie, msgA[:], g, bytes.NewReader(yb))
		if err != nil {
			t.Fatal(err)
		}
		isk, c2s, s2c, ok := clientSide(t, c.clientPass, nonce, cookie, ya, a, token)
		f.line("handshake", []byte(c.clientPass), []byte(c.serverPass), cookie, nonce, token, ya, yb, a.ServerKey[:], g.key[:],
			msgA[:], a.PAKE[:], a.Confirm[:], a.GroupKey[:], ok, isk, c2s, s2c)
	}
	f.comment("generator PRS CI SID GEN_STR G: CPace's generator string and generator for passphrases around the")
	f.comment("  lengths where the zero padding ends (109-111 bytes) and the length takes two LEB128 bytes (128)")
	gr := detrand.New("csharp generator")
	for _, n := range []int{0, 1, 50, 108, 109, 110, 111, 112, 127, 128, 129, 300} {
		prs, sid := detBytes(gr, n), detBytes(gr, 40)
		gs := cpaceGeneratorString(nil, prs, handshakeCI, sid)
		f.line("generator", prs, handshakeCI, sid, gs, cpaceGenerator(prs, handshakeCI, sid).Encode(nil))
	}
	f.comment("datagrams of case a's sessions (sealed as docs/PROTOCOL.md §17.3; the header is any 22 bytes, the AEAD's additional data)")
	f.comment("s2c KEY HEADER BODY DATAGRAM: the server's datagram to the client, number in the datagram")
	f.comment("c2s KEY HEADER BODY DATAGRAM: the client's datagram to the server")
	f.comment("group KEY SERVER_KEY HEADER BODY DATAGRAM OK: a signed multicast datagram; OK whether it opens and verifies")
	r := detrand.New("csharp handshake a")
	cookie := detBytes(r, 32)
	nonce := binary.LittleEndian.Uint64(detBytes(r, 8))
	token := binary.LittleEndian.Uint64(detBytes(r, 8))
	g, _ := NewServerGroup(token, detrand.New("csharp group a"))
	ya := detBytes(detrand.New("csharp client a"), 32)
	ya[31] &= 0x0f
	yb := detBytes(detrand.New("csharp server a"), 32)
	yb[31] &= 0x0f
	ch, _ := NewClientHandshake(testPassphrase, nonce, cookie, bytes.NewReader(ya))
	msgA := ch.Message()
	a, ss, _ := ServerHandshake(testPassphrase, nonce, cookie, msgA[:], g, bytes.NewReader(yb))
	cs, _, err := ch.Finish(a, token)
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := hkdf.Key(sha256.New, mustISK(t, testPassphrase, nonce, cookie, ya, a, token), nil, "arcade v1 session keys", 32)
	dr := detrand.New("csharp datagrams")
	for _, n := range []int{0, 8, 100, 1000} {
		header := detBytes(dr, 22)
		body := detBytes(dr, n)
		f.line("s2c", keys[16:], header, body, ss.Seal(bytes.Clone(header), header, body))
	}
	ss.next = 1<<40 + 5 // a far number, to check the nonce's top bytes
	header := detBytes(dr, 22)
	body := detBytes(dr, 50)
	f.line("s2c", keys[16:], header, body, ss.Seal(bytes.Clone(header), header, body))
	for _, n := range []int{0, 40, 500} {
		header := detBytes(dr, 22)
		body := detBytes(dr, n)
		f.line("c2s", keys[:16], header, body, cs.Seal(bytes.Clone(header), header, body))
	}
	for _, n := range []int{0, 64, 1112} {
		header := detBytes(dr, 22)
		body := detBytes(dr, n)
		d := g.SealSigned(bytes.Clone(header), header, body)
		f.line("group", g.key[:], []byte(g.pub), header, body, d, groupOpens(g, d))
	}
	// A headset's forgery: the group key, its own signing key.
	forger, _ := NewGroup(g.key[:], g.pub, nil)
	_, fakePriv, _ := ed25519.GenerateKey(detrand.New("csharp forger"))
	forger.priv = fakePriv
	header = detBytes(dr, 22)
	body = []byte("forged state")
	forged := forger.SealSigned(bytes.Clone(header), header, body)
	f.line("group", g.key[:], []byte(g.pub), header, body, forged, groupOpens(g, forged))
	// The server's datagram with one bit of the ciphertext, the header or
	// the signature flipped.
	header = detBytes(dr, 22)
	body = detBytes(dr, 30)
	d := g.SealSigned(bytes.Clone(header), header, body)
	for _, at := range []int{3, 22 + 8 + 2, len(d) - 64 - 1, len(d) - 1} {
		bad := bytes.Clone(d)
		bad[at] ^= 0x10
		f.line("group", g.key[:], []byte(g.pub), header, body, bad, groupOpens(g, bad))
	}
	return f
}

// groupOpens reports whether a receiver of g opens and verifies d.
func groupOpens(g *Group, d []byte) bool {
	rx, _ := NewGroup(g.key[:], g.pub, nil)
	_, err := rx.OpenSigned(nil, d, 22)
	return err == nil
}

func mustISK(t *testing.T, pass string, nonce uint64, cookie, ya []byte, a *Accept, token uint64) []byte {
	isk, _, _, ok := clientSide(t, pass, nonce, cookie, ya, a, token)
	if !ok {
		t.Fatal("the client does not accept")
	}
	return isk
}

// clientSide runs a client with scalar ya against Accept a: its ISK and
// session keys, and whether it accepts.
func clientSide(t *testing.T, pass string, nonce uint64, cookie, ya []byte, a *Accept, token uint64) (isk, c2s, s2c []byte, ok bool) {
	ch, err := NewClientHandshake(pass, nonce, cookie, bytes.NewReader(ya))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := ch.Finish(a, token); err != nil {
		return nil, nil, nil, false
	}
	init, _, err := NewCPaceInitiator([]byte(pass), handshakeCI, HandshakeSID(nonce, cookie), nil, bytes.NewReader(ya))
	if err != nil {
		t.Fatal(err)
	}
	k, err := init.Finish(a.PAKE[:], handshakeADb(a.ServerKey[:], token))
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := hkdf.Key(sha256.New, k[:], nil, "arcade v1 session keys", 32)
	return k[:], keys[:16], keys[16:], true
}

func checkHandshake(t *testing.T, n int, kind string, x [][]byte) {
	switch kind {
	case "handshake":
		cookie, ya, yb := x[2], x[5], x[6]
		nonce := binary.LittleEndian.Uint64(x[3])
		token := binary.LittleEndian.Uint64(x[4])
		ch, err := NewClientHandshake(string(x[0]), nonce, cookie, bytes.NewReader(ya))
		if err != nil {
			t.Fatal(err)
		}
		msgA := ch.Message()
		if !bytes.Equal(msgA[:], x[9]) {
			t.Errorf("handshake.txt:%d: Ya = %x", n, msgA)
		}
		g, err := NewGroup(x[8], ed25519.PublicKey(x[7]), nil)
		if err != nil {
			t.Fatal(err)
		}
		g.token = token
		// ServerHandshake needs only g.pub, g.token and g.key.
		a, _, err := ServerHandshake(string(x[1]), nonce, cookie, msgA[:], g, bytes.NewReader(yb))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a.PAKE[:], x[10]) || !bytes.Equal(a.Confirm[:], x[11]) || !bytes.Equal(a.GroupKey[:], x[12]) {
			t.Errorf("handshake.txt:%d: the server's Accept differs: %x %x %x", n, a.PAKE, a.Confirm, a.GroupKey)
		}
		isk, c2s, s2c, ok := clientSide(t, string(x[0]), nonce, cookie, ya, a, token)
		if ok != (string(x[13]) == "1") || !bytes.Equal(isk, x[14]) || !bytes.Equal(c2s, x[15]) || !bytes.Equal(s2c, x[16]) {
			t.Errorf("handshake.txt:%d: the client gives %v %x %x %x", n, ok, isk, c2s, s2c)
		}
	case "generator":
		prs, ci, sid := x[0], x[1], x[2]
		if gs := cpaceGeneratorString(nil, prs, ci, sid); !bytes.Equal(gs, x[3]) {
			t.Errorf("handshake.txt:%d: generator string %x", n, gs)
		}
		if g := cpaceGenerator(prs, ci, sid).Encode(nil); !bytes.Equal(g, x[4]) {
			t.Errorf("handshake.txt:%d: generator %x", n, g)
		}
	case "s2c", "c2s":
		key, header, body, d := x[0], x[1], x[2], x[3]
		var s *Session
		var err error
		if kind == "s2c" {
			s, err = newSession(make([]byte, 16), key, false) // the client opens
		} else {
			s, err = newSession(key, make([]byte, 16), true) // the server opens
		}
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.Open(nil, header, d[len(header):])
		if err != nil || !bytes.Equal(got, body) || !bytes.Equal(d[:len(header)], header) {
			t.Errorf("handshake.txt:%d: %s opens to %x, %v", n, kind, got, err)
		}
	case "group":
		key, pub, header, body, d := x[0], x[1], x[2], x[3], x[4]
		rx, err := NewGroup(key, ed25519.PublicKey(pub), nil)
		if err != nil {
			t.Fatal(err)
		}
		got, err := rx.OpenSigned(nil, d, len(header))
		ok := err == nil && bytes.Equal(got, body)
		if ok != (string(x[5]) == "1") {
			t.Errorf("handshake.txt:%d: group datagram opens %v (%v)", n, ok, err)
		}
	default:
		t.Fatalf("handshake.txt:%d: kind %q", n, kind)
	}
}

func checkEd25519(t *testing.T, n int, kind string, x [][]byte) {
	if kind != "verify" {
		t.Fatalf("ed25519.txt:%d: kind %q", n, kind)
	}
	if ok := ed25519.Verify(ed25519.PublicKey(x[0]), x[1], x[2]); ok != (string(x[3]) == "1") {
		t.Errorf("ed25519.txt:%d: Verify = %v", n, ok)
	}
}

func checkGCM(t *testing.T, n int, kind string, x [][]byte) {
	if kind != "gcm" {
		t.Fatalf("aesgcm.txt:%d: kind %q", n, kind)
	}
	if got := gcmSeal(x[0], x[1], x[2], x[3]); !bytes.Equal(got, x[4]) {
		t.Errorf("aesgcm.txt:%d: Seal = %x", n, got)
	}
}

func checkHKDF(t *testing.T, n int, kind string, x [][]byte) {
	if kind != "hkdf" {
		t.Fatalf("hkdf.txt:%d: kind %q", n, kind)
	}
	prk, okm := hkdfBoth(x[0], x[1], x[2], len(x[4]))
	if !bytes.Equal(prk, x[3]) || !bytes.Equal(okm, x[4]) {
		t.Errorf("hkdf.txt:%d: %x %x", n, prk, okm)
	}
}

// readVectors returns the lines of a file of testdata/csharp: kind, then
// the fields (hex decoded, decimal and 0/1 fields kept as text).
func readVectors(t *testing.T, name string, each func(n int, kind string, x [][]byte)) int {
	b, err := os.ReadFile(filepath.Join(csharpDir, name))
	if err != nil {
		t.Fatal(err)
	}
	count := 0
	for i, line := range strings.Split(string(b), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		tok := strings.Fields(line)
		var x [][]byte
		for _, f := range tok[1:] {
			switch f {
			case "-":
				x = append(x, nil)
			case "0", "1":
				x = append(x, []byte(f))
			default:
				v, err := hex.DecodeString(f)
				if err != nil {
					t.Fatalf("%s:%d: %v", name, i+1, err)
				}
				x = append(x, v)
			}
		}
		each(i+1, tok[0], x)
		count++
	}
	return count
}

// TestCSharpVectors checks every vector of testdata/csharp against the Go
// implementations (after rewriting them with -update-csharp).
func TestCSharpVectors(t *testing.T) {
	if *updateCSharp {
		if err := os.MkdirAll(csharpDir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range []*vecFile{genRistretto(t), genEd25519(t), genGCM(t), genHKDF(t), genHandshake(t)} {
			if err := os.WriteFile(filepath.Join(csharpDir, f.name), []byte(f.b.String()), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, c := range []struct {
		name  string
		check func(*testing.T, int, string, [][]byte)
		min   int
	}{
		{"ristretto255.txt", checkRistretto, 100},
		{"ed25519.txt", checkEd25519, 100},
		{"aesgcm.txt", checkGCM, 20},
		{"hkdf.txt", checkHKDF, 9},
		{"handshake.txt", checkHandshake, 20},
	} {
		n := readVectors(t, c.name, func(line int, kind string, x [][]byte) { c.check(t, line, kind, x) })
		if n < c.min {
			t.Errorf("%s: %d vectors, want at least %d", c.name, n, c.min)
		}
	}
}
