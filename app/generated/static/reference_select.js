/* Reference selects that search on demand (select2 4 with AJAX against /choices/<entity>/<field>/).
   Every <select class="ykt-reference"> on the page, also those a list's search panel adds later.
   Runs once the page is parsed: FAB loads jQuery and select2 after the form that includes this file. */
(function () {
    if (window.yktReferenceSelect) { return; }
    window.yktReferenceSelect = true;

    function start() {
        var $ = window.jQuery;
        if (!$ || !$.fn || !$.fn.select2) { return; }

        function init(el) {
            var $el = $(el);
            if ($el.hasClass('select2-hidden-accessible') || !document.body.contains(el)) { return; }
            $el.select2({
                theme: 'bootstrap',
                width: '100%',
                allowClear: true,
                placeholder: $el.data('placeholder') || '',
                language: {
                    searching: function () { return $el.data('searching'); },
                    noResults: function () { return $el.data('no-results'); },
                    loadingMore: function () { return $el.data('more'); }
                },
                ajax: {
                    url: $el.data('url'),
                    dataType: 'json',
                    delay: 250,
                    data: function (params) { return {q: params.term || '', page: params.page || 1}; }
                }
            });
        }

        function scan() { $('select.ykt-reference').each(function () { init(this); }); }

        scan();
        new MutationObserver(scan).observe(document.body, {childList: true, subtree: true});
    }

    if (document.readyState === 'loading') {
        document.addEventListener('DOMContentLoaded', start);
    } else {
        start();
    }
})();
