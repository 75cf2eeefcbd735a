global using MoESdk.Testing;
global using Xunit;
global using Xunit.Abstractions;
