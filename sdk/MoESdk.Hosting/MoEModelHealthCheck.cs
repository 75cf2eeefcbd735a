using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace MoESdk.Hosting;

/// <summary>Healthy once the model is loaded and warmed up; unhealthy before, or when loading failed.</summary>
internal sealed class MoEModelHealthCheck(MoEModelReadiness readiness) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(readiness switch
        {
            { IsReady: true } => HealthCheckResult.Healthy($"Model '{readiness.Name}' is loaded and warm."),
            { Failure: Exception e } => HealthCheckResult.Unhealthy($"Model '{readiness.Name}' failed to load.", e),
            _ => HealthCheckResult.Unhealthy($"Model '{readiness.Name}' is loading."),
        });
}
