package org.mongofollow.testplugin;

import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.email.UAX29URLEmailTokenizer;
import org.apache.lucene.analysis.miscellaneous.RemoveDuplicatesTokenFilter;
import org.apache.lucene.analysis.pattern.PatternCaptureGroupTokenFilter;
import org.elasticsearch.index.analysis.PreConfiguredTokenFilter;
import org.elasticsearch.index.analysis.TokenFilterFactory;
import org.elasticsearch.index.analysis.TokenizerFactory;
import org.elasticsearch.indices.analysis.AnalysisModule;
import org.elasticsearch.plugins.AnalysisPlugin;
import org.elasticsearch.plugins.Plugin;

import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * TEST ONLY, never part of mongo-follow: the analysis components that x-pack security's {@code .security} index
 * mapping names ({@code pattern_capture}, {@code uax_url_email}, {@code unique}) and that Elasticsearch's
 * {@code analysis-common} module provides. The {@code integ-test-zip} distribution the tests run on lacks that module
 * and Maven Central does not publish it, so without these the node cannot create its {@code .security} index, and
 * therefore no API key. {@code scripts/es-node} installs this plugin on the test node only, so that
 * SecurityDistributionIT can follow with an API key. The components are Lucene's own, configured as the module does.
 */
public class SecurityIndexAnalysisPlugin extends Plugin implements AnalysisPlugin {

    @Override
    public Map<String, AnalysisModule.AnalysisProvider<TokenFilterFactory>> getTokenFilters() {
        return Map.of("pattern_capture", (indexSettings, environment, name, settings) -> {
            boolean preserveOriginal = settings.getAsBoolean("preserve_original", true);
            Pattern[] patterns = settings.getAsList("patterns").stream().map(Pattern::compile).toArray(Pattern[]::new);
            return new TokenFilterFactory() {
                @Override
                public String name() {
                    return name;
                }

                @Override
                public TokenStream create(TokenStream tokenStream) {
                    return new PatternCaptureGroupTokenFilter(tokenStream, preserveOriginal, patterns);
                }
            };
        });
    }

    @Override
    public Map<String, AnalysisModule.AnalysisProvider<TokenizerFactory>> getTokenizers() {
        return Map.of(
            "uax_url_email",
            (indexSettings, environment, name, settings) -> TokenizerFactory.newFactory(name, UAX29URLEmailTokenizer::new)
        );
    }

    @Override
    public List<PreConfiguredTokenFilter> getPreConfiguredTokenFilters() {
        return List.of(PreConfiguredTokenFilter.singleton("unique", false, RemoveDuplicatesTokenFilter::new));
    }
}
