using Arcade.Wire;

namespace Arcade
{
    /// <summary>Seals and opens a session's datagrams after the handshake (docs/PROTOCOL.md §17.3).
    /// A clear session has none. Implementations allocate nothing per datagram; Seal is called
    /// under the client's send lock, Open under its receive lock.</summary>
    public interface ISealer
    {
        /// <summary>Seals buf[0..len) (header with FlagSealed set, then the body in clear) in place for
        /// client → server and returns the sealed length (len + 24).</summary>
        int Seal(byte[] buf, int len);

        /// <summary>Opens a sealed server → client datagram buf[0..len) in place: on success the body
        /// is at buf[22..22+n) and n is returned; -1 when it does not authenticate or is a replay.</summary>
        int Open(byte[] buf, int len);

        /// <summary>Opens a sealed and signed multicast datagram, as Open (the body ends up at
        /// buf[22..]), checking the server's signature; -1 when any check fails.</summary>
        int OpenGroup(byte[] buf, int len);
    }

    /// <summary>The venue passphrase handshake (§17.2) as the client runs it.</summary>
    public interface IPassphraseHandshake
    {
        /// <summary>Starts an attempt for the Challenge's cookie and the attempt's nonce; writes the
        /// client's CPace message Ya (32 bytes) into ya.</summary>
        void Begin(byte[] cookie, ulong clientNonce, byte[] ya);

        /// <summary>Checks the sealed Accepted (confirmation tag, group key unwrap) and returns the
        /// session's sealer, or null when the server does not know the passphrase.</summary>
        ISealer Finish(Accepted accepted);
    }

    /// <summary>Where a passphrase handshake comes from: Arcade.Crypto's CPace by default; a test or
    /// another implementation may replace it.</summary>
    public static class PassphraseCrypto
    {
        /// <summary>Makes a handshake for a passphrase (UTF-8).</summary>
        public static System.Func<byte[], IPassphraseHandshake> Factory = p => new CpaceHandshake(p);
    }
}
