namespace Trireme.Primitives;

/// <summary>
/// The majority arithmetic every replicated role relies on. Operators read it as a table:
/// N members need floor(N/2)+1 to agree and survive floor((N-1)/2) failures.
/// </summary>
public static class Quorum
{
    /// <summary>Votes needed to decide anything among <paramref name="voters"/> members.</summary>
    public static int Majority(int voters)
    {
        if (voters < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(voters), voters, "a member count cannot be negative");
        }

        // An empty configuration decides nothing; 0 would make every empty vote count "win".
        return voters == 0 ? 1 : (voters / 2) + 1;
    }

    /// <summary>Members that may fail while the rest still form a majority.</summary>
    public static int FailureTolerance(int voters)
    {
        if (voters < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(voters), voters, "a member count cannot be negative");
        }

        return voters == 0 ? 0 : (voters - 1) / 2;
    }
}
