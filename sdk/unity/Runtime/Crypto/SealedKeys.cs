namespace Arcade.Crypto
{
    // SealedKeys is what a sealed handshake gives the client: the session's
    // two AEAD keys, the multicast group's key and the server's Ed25519
    // public key, which signs every multicast datagram.
    public sealed class SealedKeys
    {
        // ClientToServer is the 16-byte AES-128-GCM key of the client's
        // datagrams (nonce direction 0).
        public readonly byte[] ClientToServer;

        // ServerToClient is the key of the server's datagrams to this
        // client (direction 1).
        public readonly byte[] ServerToClient;

        // GroupKey is the key of the multicast group's datagrams (direction
        // 2), the same for every client.
        public readonly byte[] GroupKey;

        // ServerKey is the server's Ed25519 public key (32 bytes).
        public readonly byte[] ServerKey;

        internal SealedKeys(byte[] clientToServer, byte[] serverToClient, byte[] groupKey, byte[] serverKey)
        {
            ClientToServer = clientToServer;
            ServerToClient = serverToClient;
            GroupKey = groupKey;
            ServerKey = serverKey;
        }
    }
}
