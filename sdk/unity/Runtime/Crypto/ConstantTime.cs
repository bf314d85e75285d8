namespace Arcade.Crypto
{
    // ConstantTime compares secrets without an early exit.
    public static class ConstantTime
    {
        // Equal reports whether a[aOff..aOff+len] equals b[bOff..bOff+len],
        // in time that depends only on len. False if either range does not
        // fit.
        public static bool Equal(byte[] a, int aOff, byte[] b, int bOff, int len)
        {
            if (a == null || b == null || len < 0 || aOff < 0 || bOff < 0 || aOff > a.Length - len ||
                bOff > b.Length - len)
            {
                return false;
            }
            int diff = 0;
            for (int i = 0; i < len; i++)
            {
                diff |= a[aOff + i] ^ b[bOff + i];
            }
            return diff == 0;
        }
    }
}
