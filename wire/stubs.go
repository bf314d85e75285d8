package wire

// Temporary signatures; replaced by the real codecs.

func (h *Header) Append(b []byte) []byte       { panic("todo") }
func (h *Header) Parse(b []byte) (int, error)  { panic("todo") }
func PeekType(b []byte) (PacketType, error)    { panic("todo") }
func AppendPose(b []byte, p *Pose) []byte      { panic("todo") }
func ParsePose(b []byte, p *Pose) (int, error) { panic("todo") }
func QuantizePose(p Pose) Pose                 { panic("todo") }

func (m *ConnectRequest) Append(b []byte) []byte      { panic("todo") }
func (m *ConnectRequest) Parse(b []byte) (int, error) { panic("todo") }
func (m *ConnectRequest) Len() int                    { panic("todo") }
func (m *ConnectRequest) SetName(s string)            { panic("todo") }
func (m *ConnectRequest) NameString() string          { panic("todo") }

func (m *Challenge) Append(b []byte) []byte      { panic("todo") }
func (m *Challenge) Parse(b []byte) (int, error) { panic("todo") }
func (m *Challenge) Len() int                    { panic("todo") }

func (m *ChallengeResponse) Append(b []byte) []byte      { panic("todo") }
func (m *ChallengeResponse) Parse(b []byte) (int, error) { panic("todo") }
func (m *ChallengeResponse) Len() int                    { panic("todo") }

func (m *Accepted) Append(b []byte) []byte      { panic("todo") }
func (m *Accepted) Parse(b []byte) (int, error) { panic("todo") }
func (m *Accepted) Len() int                    { panic("todo") }

func (m *Denied) Append(b []byte) []byte      { panic("todo") }
func (m *Denied) Parse(b []byte) (int, error) { panic("todo") }
func (m *Denied) Len() int                    { panic("todo") }

func (m *PoseInput) Append(b []byte) []byte      { panic("todo") }
func (m *PoseInput) Parse(b []byte) (int, error) { panic("todo") }
func (m *PoseInput) Len() int                    { panic("todo") }

func (m *Snapshot) Append(b []byte) []byte      { panic("todo") }
func (m *Snapshot) Parse(b []byte) (int, error) { panic("todo") }
func (m *Snapshot) Len() int                    { panic("todo") }

func (m *Ping) Append(b []byte) []byte      { panic("todo") }
func (m *Ping) Parse(b []byte) (int, error) { panic("todo") }
func (m *Ping) Len() int                    { panic("todo") }

func (m *Pong) Append(b []byte) []byte      { panic("todo") }
func (m *Pong) Parse(b []byte) (int, error) { panic("todo") }
func (m *Pong) Len() int                    { panic("todo") }

func (m *Disconnect) Append(b []byte) []byte      { panic("todo") }
func (m *Disconnect) Parse(b []byte) (int, error) { panic("todo") }
func (m *Disconnect) Len() int                    { panic("todo") }
