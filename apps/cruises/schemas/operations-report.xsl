<?xml version="1.0" encoding="UTF-8"?>
<!-- The R2R-style Operations Report: cruise record XML (sailing orders with eventSummary and datasets)
     to a printable, self-contained HTML page. -->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output method="html" encoding="UTF-8" indent="yes" doctype-system="about:legacy-compat"/>
  <xsl:param name="generated" select="''"/>
  <xsl:param name="pdf_url" select="''"/>
  <xsl:template match="/sailingOrders/cruise">
    <html lang="en">
      <head>
        <meta charset="utf-8"/>
        <title>Operations Report — <xsl:value-of select="@id"/></title>
        <style>
          body { font-family: system-ui, sans-serif; color: #1b2733; max-width: 50rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.45; }
          h1 { margin-bottom: .2rem; } h2 { border-bottom: 2px solid #0b5c8a; padding-bottom: .2rem; margin-top: 1.6rem; font-size: 1.15rem; }
          table { border-collapse: collapse; width: 100%; } th, td { text-align: left; border-bottom: 1px solid #d6dde4; padding: .3rem .5rem; vertical-align: top; }
          th { background: #eef2f6; } dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; } dt { font-weight: 600; }
          .muted { color: #5b6b7a; }
          a.pdf { font-size: .9rem; }
          /* Print (the browser's and WeasyPrint's, which renders the PDF version): A4, page numbers, no link. */
          @page { size: A4; margin: 18mm 16mm 20mm;
            @bottom-right { content: "Page " counter(page) " of " counter(pages); font: 8pt system-ui, sans-serif; color: #5b6b7a; } }
          @media print { body { margin: 0; max-width: none; font-size: 10pt; } h2 { break-after: avoid; } tr { break-inside: avoid; }
            thead { display: table-header-group; } .screen-only { display: none; } }
        </style>
      </head>
      <body>
        <h1>Operations Report: <xsl:value-of select="@id"/></h1>
        <p class="muted">R/V <xsl:value-of select="vessel"/> · <xsl:value-of select="operator"/>
          <xsl:if test="state"> · <xsl:value-of select="state"/></xsl:if>
          <xsl:if test="$generated != ''"> · generated <xsl:value-of select="$generated"/></xsl:if></p>
        <xsl:if test="$pdf_url != ''"><p class="screen-only"><a class="pdf" href="{$pdf_url}" type="application/pdf">Download PDF</a></p></xsl:if>
        <h2>Vessel and dates</h2>
        <dl>
          <dt>Vessel</dt><dd><xsl:value-of select="vessel"/> (code <xsl:value-of select="vessel/@code"/><xsl:if test="vessel/@callSign">, call sign <xsl:value-of select="vessel/@callSign"/></xsl:if><xsl:if test="vessel/@imo">, IMO <xsl:value-of select="vessel/@imo"/></xsl:if>)</dd>
          <dt>Operator</dt><dd><xsl:value-of select="operator"/></dd>
          <dt>Departure</dt><dd><xsl:value-of select="departure/@date"/>, <xsl:value-of select="departure/@port"/><xsl:if test="departure/@unlocode"> (<xsl:value-of select="departure/@unlocode"/>)</xsl:if></dd>
          <dt>Arrival</dt><dd><xsl:value-of select="arrival/@date"/>, <xsl:value-of select="arrival/@port"/><xsl:if test="arrival/@unlocode"> (<xsl:value-of select="arrival/@unlocode"/>)</xsl:if></dd>
        </dl>
        <h2>Mission</h2>
        <p><xsl:value-of select="missionSummary"/></p>
        <xsl:if test="surveyTargets"><p><strong>Survey targets: </strong><xsl:value-of select="surveyTargets"/></p></xsl:if>
        <xsl:if test="instruments"><p><strong>Instruments: </strong>
          <xsl:for-each select="instruments/instrument"><xsl:value-of select="."/><xsl:if test="position() != last()">, </xsl:if></xsl:for-each></p></xsl:if>
        <h2>Science party</h2>
        <table>
          <thead><tr><th>Name</th><th>Role</th><th>Affiliation</th><th>ORCID</th></tr></thead>
          <tbody>
            <xsl:for-each select="party/member">
              <tr><td><xsl:value-of select="name"/></td><td><xsl:value-of select="translate(@role, '_', ' ')"/></td>
                <td><xsl:value-of select="affiliation"/></td><td><xsl:value-of select="@orcid"/></td></tr>
            </xsl:for-each>
          </tbody>
        </table>
        <h2>Awards</h2>
        <xsl:choose>
          <xsl:when test="awards/award">
            <table><thead><tr><th>Funder</th><th>Number</th><th>Title</th></tr></thead><tbody>
              <xsl:for-each select="awards/award"><tr><td><xsl:value-of select="@funder"/></td><td><xsl:value-of select="@number"/></td><td><xsl:value-of select="@title"/></td></tr></xsl:for-each>
            </tbody></table>
          </xsl:when>
          <xsl:otherwise><p class="muted">No awards recorded.</p></xsl:otherwise>
        </xsl:choose>
        <h2>Events summary</h2>
        <xsl:choose>
          <xsl:when test="eventSummary/@state = 'private'">
            <p class="muted">The event log is open: its entries are shown to the cruise's people until it is closed.</p>
          </xsl:when>
          <xsl:when test="eventSummary/@events &gt; 0">
            <p><xsl:value-of select="eventSummary/@events"/> events (log <xsl:value-of select="eventSummary/@state"/>), from <xsl:value-of select="eventSummary/@first"/> to <xsl:value-of select="eventSummary/@last"/>.</p>
            <table><thead><tr><th>Instrument</th><th>Events</th><th>Stations</th></tr></thead><tbody>
              <xsl:for-each select="eventSummary/instrument"><tr><td><xsl:value-of select="@code"/></td><td><xsl:value-of select="@events"/></td><td><xsl:value-of select="@stations"/></td></tr></xsl:for-each>
            </tbody></table>
          </xsl:when>
          <xsl:otherwise><p class="muted">No events logged.</p></xsl:otherwise>
        </xsl:choose>
        <h2>Datasets</h2>
        <xsl:choose>
          <xsl:when test="datasets/dataset">
            <table><thead><tr><th>Package</th><th>Title</th><th>Status</th></tr></thead><tbody>
              <xsl:for-each select="datasets/dataset"><tr><td><xsl:value-of select="@packageId"/></td><td><xsl:value-of select="."/></td>
                <td><xsl:value-of select="@state"/><xsl:if test="@heldUntil"> until <xsl:value-of select="@heldUntil"/></xsl:if><xsl:if test="@doi"> · doi:<xsl:value-of select="@doi"/></xsl:if></td></tr></xsl:for-each>
            </tbody></table>
          </xsl:when>
          <xsl:otherwise><p class="muted">No datasets linked to this cruise yet.</p></xsl:otherwise>
        </xsl:choose>
      </body>
    </html>
  </xsl:template>
</xsl:stylesheet>
