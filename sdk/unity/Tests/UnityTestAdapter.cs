// Runs the same tests in Unity's Test Runner (Edit Mode): each public static test method of
// a *Tests class is one NUnit case. The golden vectors are read from the Arcade repository
// named by the ARCADE_REPO environment variable; without it those cases are ignored.
#if UNITY_INCLUDE_TESTS
using System.Collections.Generic;
using System.Reflection;
using NUnit.Framework;

namespace Arcade.Tests
{
    public class UnityTestAdapter
    {
        static IEnumerable<TestCaseData> Cases()
        {
            foreach (var type in typeof(UnityTestAdapter).Assembly.GetTypes())
            {
                if (!type.IsPublic || !type.Name.EndsWith("Tests")) continue;
                foreach (var m in type.GetMethods(BindingFlags.Public | BindingFlags.Static))
                    if (m.ReturnType == typeof(void) && m.GetParameters().Length == 0)
                        yield return new TestCaseData(m).SetName(type.Name + "." + m.Name);
            }
        }

        [TestCaseSource(nameof(Cases))]
        public void Run(MethodInfo m)
        {
            var repo = System.Environment.GetEnvironmentVariable("ARCADE_REPO");
            if (string.IsNullOrEmpty(repo) && (m.DeclaringType == typeof(GoldenTests) || m.DeclaringType == typeof(StateDeltaTests) || m.Name == "GoldenFragmentParses"))
                Assert.Ignore("set ARCADE_REPO to the Arcade repository to check the golden vectors");
            T.Root = repo ?? ".";
            try { m.Invoke(null, null); }
            catch (TargetInvocationException e) { throw new AssertionException(e.InnerException.Message, e.InnerException); }
        }
    }
}
#endif
