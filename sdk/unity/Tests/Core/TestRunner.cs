// A small test runner for the SDK's core tests, so that they run under plain
// Mono (mcs + mono) without a test framework: every public static void method
// without parameters of a public class whose name ends in "Tests" is a test.
// Usage: mono ArcadeTests.exe REPO_ROOT [substring ...]
using System;
using System.Collections.Generic;
using System.Reflection;

namespace Arcade.Tests
{
    public sealed class TestFailure : Exception
    {
        public TestFailure(string msg) : base(msg) { }
    }

    /// <summary>Assertions; each throws TestFailure with what differed.</summary>
    public static class T
    {
        /// <summary>The repository root, where testdata/ is.</summary>
        public static string Root = ".";

        public static void True(bool cond, string what)
        {
            if (!cond) throw new TestFailure(what);
        }

        public static void Equal<V>(V want, V got, string what)
        {
            if (!EqualityComparer<V>.Default.Equals(want, got))
                throw new TestFailure(string.Format("{0}: got {1}, want {2}", what, got, want));
        }

        public static void Bytes(byte[] want, int wantLen, byte[] got, int gotLen, string what)
        {
            if (wantLen != gotLen) throw new TestFailure(string.Format("{0}: length {1}, want {2}", what, gotLen, wantLen));
            for (int i = 0; i < wantLen; i++)
                if (want[i] != got[i])
                    throw new TestFailure(string.Format("{0}: byte {1} is {2:x2}, want {3:x2}", what, i, got[i], want[i]));
        }

        public static void Log(string fmt, params object[] args) { Console.WriteLine("    " + string.Format(fmt, args)); }
    }

    public static class TestRunner
    {
        public static int Main(string[] args)
        {
            if (args.Length > 0) T.Root = args[0];
            var filters = new List<string>();
            for (int i = 1; i < args.Length; i++) filters.Add(args[i]);
            int pass = 0, fail = 0;
            foreach (var type in typeof(TestRunner).Assembly.GetTypes())
            {
                if (!type.IsPublic || !type.Name.EndsWith("Tests")) continue;
                foreach (var m in type.GetMethods(BindingFlags.Public | BindingFlags.Static))
                {
                    if (m.ReturnType != typeof(void) || m.GetParameters().Length != 0) continue;
                    string name = type.Name + "." + m.Name;
                    if (filters.Count > 0 && !filters.Exists(f => name.Contains(f))) continue;
                    var start = DateTime.UtcNow;
                    try
                    {
                        m.Invoke(null, null);
                        pass++;
                        Console.WriteLine("ok   {0} ({1:F0} ms)", name, (DateTime.UtcNow - start).TotalMilliseconds);
                    }
                    catch (TargetInvocationException e)
                    {
                        fail++;
                        var inner = e.InnerException;
                        Console.WriteLine("FAIL {0}: {1}", name, inner is TestFailure ? inner.Message : inner.ToString());
                    }
                }
            }
            Console.WriteLine("{0} passed, {1} failed", pass, fail);
            return fail == 0 && pass > 0 ? 0 : 1;
        }
    }
}
