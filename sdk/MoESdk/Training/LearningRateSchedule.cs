namespace MoESdk.Training;

/// <summary>Linear warm-up to the peak rate, then cosine decay to a floor at the last step.</summary>
internal sealed record LearningRateSchedule(double Peak, int WarmupSteps, int TotalSteps, double FloorRatio = 0.1)
{
    public double At(int step)
    {
        if (step < WarmupSteps)
        {
            return Peak * (step + 1) / WarmupSteps;
        }
        double progress = Math.Min(1.0, (double)(step - WarmupSteps) / Math.Max(1, TotalSteps - WarmupSteps));
        double floor = Peak * FloorRatio;
        return floor + (Peak - floor) * 0.5 * (1 + Math.Cos(Math.PI * progress));
    }
}
